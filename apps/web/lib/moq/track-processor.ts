/**
 * Frames of a live MediaStreamTrack as a stream (`MediaStreamTrackProcessor`, Chromium's
 * insertable streams for raw media; not in TypeScript's DOM library yet). Client-only.
 */

interface TrackProcessor<T> {
  readonly readable: ReadableStream<T>;
}

type TrackProcessorConstructor = new (init: { track: MediaStreamTrack; maxBufferSize?: number }) => TrackProcessor<VideoFrame | AudioData>;

function processorConstructor(): TrackProcessorConstructor | undefined {
  return (globalThis as { MediaStreamTrackProcessor?: TrackProcessorConstructor }).MediaStreamTrackProcessor;
}

/**
 * What the WebTransport broadcaster needs from the browser: WebTransport, WebCodecs encoders and
 * raw frames from capture tracks. Missing → the reason, shown when the page falls back to WHIP.
 */
export function webTransportPublishingUnsupported(): string | null {
  if (typeof WebTransport === 'undefined') return 'this browser has no WebTransport';
  if (typeof VideoEncoder === 'undefined' || typeof AudioEncoder === 'undefined') return 'this browser has no WebCodecs encoders';
  if (!processorConstructor()) return 'this browser cannot read raw frames from the camera (MediaStreamTrackProcessor)';
  return null;
}

/**
 * Reads `track`'s frames. `maxBufferSize` 1 keeps only the newest frame when the encoder falls
 * behind: a live encoder drops old frames rather than adding latency.
 */
export function readTrackFrames<T extends VideoFrame | AudioData>(track: MediaStreamTrack, maxBufferSize: number): ReadableStreamDefaultReader<T> {
  const Processor = processorConstructor();
  if (!Processor) throw new Error('MediaStreamTrackProcessor is not available');
  return (new Processor({ track, maxBufferSize }).readable as ReadableStream<T>).getReader();
}
