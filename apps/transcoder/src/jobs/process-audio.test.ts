import { describe, expect, it } from 'vitest';
import { MAX_HELD_AUDIO_BYTES, ProcessAudio } from './process-audio';

function setup() {
  const received: string[] = [];
  let sink: { push(chunk: Buffer): void } | undefined = { push: (chunk) => received.push(chunk.toString()) };
  const audio = new ProcessAudio(() => sink);
  return { audio, received, dropSink: () => (sink = undefined) };
}

describe('ProcessAudio', () => {
  it('holds the audio written before the first video, then hands it on in order and the rest at once', () => {
    const { audio, received } = setup();
    audio.push(Buffer.from('init'), 0);
    audio.push(Buffer.from('a1'), 100);
    expect(received).toEqual([]);
    expect(audio.forwardedBytes).toBe(0);
    audio.videoStarted();
    expect(received).toEqual(['init', 'a1']);
    audio.push(Buffer.from('a2'), 200);
    audio.videoStarted();
    expect(received).toEqual(['init', 'a1', 'a2']);
    expect(audio.forwardedBytes).toBe(8);
  });

  it('a process that never makes video gives the rendition nothing (its discontinuities stay with the video\'s)', () => {
    const { audio, received } = setup();
    for (let i = 0; i < 100; i++) audio.push(Buffer.alloc(1000), i * 20);
    expect(received).toEqual([]);
    expect(audio.forwardedBytes).toBe(0);
  });

  it('past the cap the held stream is incomplete: none of it is ever forwarded', () => {
    const { audio, received } = setup();
    audio.push(Buffer.alloc(MAX_HELD_AUDIO_BYTES), 0);
    audio.push(Buffer.alloc(1), 1);
    audio.videoStarted();
    audio.push(Buffer.from('late'), 2);
    expect(received).toEqual([]);
    expect(audio.forwardedBytes).toBe(0);
  });

  it('forwards nothing once the rendition is dropped', () => {
    const { audio, received, dropSink } = setup();
    audio.videoStarted();
    audio.push(Buffer.from('a'), 0);
    dropSink();
    audio.push(Buffer.from('b'), 1);
    expect(received).toEqual(['a']);
    expect(audio.forwardedBytes).toBe(1);
  });

  it('is silent only after it has written audio and then stopped', () => {
    const { audio } = setup();
    expect(audio.silentFor(5000, 60_000)).toBe(false);
    audio.push(Buffer.from('a'), 1000);
    expect(audio.silentFor(5000, 6000)).toBe(false);
    expect(audio.silentFor(5000, 6001)).toBe(true);
  });
});
