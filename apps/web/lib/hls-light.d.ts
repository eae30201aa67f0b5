/**
 * `hls.js/light` (no subtitles, alternate audio, DRM or CMCD: nothing an onair stream has, and
 * ~35 % less to download) ships without its own declarations; it is the same API as `hls.js`.
 */
declare module 'hls.js/light' {
  export * from 'hls.js';
  export { default } from 'hls.js';
}
