/**
 * The `<video>` a bench viewer page plays into: muted autoplay (headless Chromium plays without
 * a gesture), 1280 px wide so hls.js's capLevelToPlayerSize (the site's config) may pick 720p.
 */
export function appendPlayerVideo(): HTMLVideoElement {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.style.width = '1280px';
  document.body.append(video);
  return video;
}
