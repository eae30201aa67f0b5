/**
 * Capture for the browser broadcaster: camera, screen or microphone only, with device choice.
 * Client-only.
 */

export type VideoSource = 'camera' | 'screen' | 'none';

export interface SourceChoice {
  video: VideoSource;
  /** Camera deviceId; '' = the browser's default. */
  cameraId: string;
  /** Microphone deviceId; '' = default, 'none' = no audio. */
  micId: string;
}

export interface DeviceLists {
  cameras: MediaDeviceInfo[];
  mics: MediaDeviceInfo[];
}

/**
 * Opens the chosen sources. Screen capture must be called from a user gesture (a click
 * handler). Asks for 720p30 from cameras; the encoder adapts below that under constraint.
 */
export async function acquireMedia(choice: SourceChoice): Promise<MediaStream> {
  const md = navigator.mediaDevices;
  if (!md?.getUserMedia) throw new Error('This browser cannot capture media here (a secure origin — https or localhost — is required).');
  const audio: MediaTrackConstraints | false =
    choice.micId === 'none' ? false : { ...(choice.micId ? { deviceId: { exact: choice.micId } } : {}), echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (choice.video === 'screen') {
    if (!md.getDisplayMedia) throw new Error('Screen capture is not supported by this browser.');
    const display = await md.getDisplayMedia({ video: { frameRate: { ideal: 30, max: 30 } }, audio: false });
    if (audio) {
      try {
        const mic = await md.getUserMedia({ audio });
        for (const track of mic.getAudioTracks()) display.addTrack(track);
      } catch {
        // Screen without microphone is still a broadcast.
      }
    }
    return display;
  }
  const video: MediaTrackConstraints | false =
    choice.video === 'camera'
      ? { ...(choice.cameraId ? { deviceId: { exact: choice.cameraId } } : {}), width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } }
      : false;
  if (!video && !audio) throw new Error('Choose a camera, a screen or a microphone to broadcast.');
  return md.getUserMedia({ video, audio });
}

export async function listDevices(): Promise<DeviceLists> {
  const devices = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
  return {
    cameras: devices.filter((d) => d.kind === 'videoinput' && d.deviceId),
    mics: devices.filter((d) => d.kind === 'audioinput' && d.deviceId),
  };
}

export function stopTracks(stream: MediaStream | null | undefined): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/** A readable message for a getUserMedia/getDisplayMedia failure. */
export function describeMediaError(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'NotAllowedError') return 'Permission to use the camera, microphone or screen was denied. Allow it in the browser’s site settings and try again.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'That device is not available. Pick another one.';
  if (name === 'NotReadableError') return 'The device is in use by another application.';
  return error instanceof Error ? error.message : String(error);
}
