import { describe, expect, it } from 'vitest';
import { parseClusterEvent } from './cluster-events';
import { reconnectDelayMs, redactRedisUrl } from './redis';

describe('cluster events', () => {
  it.each([
    { type: 'stream.live', streamId: 's', name: 'show', node: 'a', url: 'http://a:8080', token: 3 },
    { type: 'stream.offline', streamId: 's', name: 'show', node: 'a', token: 3 },
    { type: 'stream.deleted', streamId: 's' },
    { type: 'stream.key-rotated', streamId: 's' },
    { type: 'transcoder.replaced', owner: 'tc', instance: 'i' },
    { type: 'stream.renditions-wanted', streamId: 's', node: 'a', codecs: ['VP8'] },
    { type: 'stream.renditions-wanted', streamId: 's', node: 'a', codecs: [] },
  ])('round-trips %j', (event) => {
    expect(parseClusterEvent(JSON.stringify(event))).toEqual(event);
  });

  it('reads a token Lua wrote as a string', () => {
    expect(parseClusterEvent('{"type":"stream.live","streamId":"s","name":"","node":"a","url":"u","token":"7"}')).toMatchObject({ token: 7 });
  });

  it('anything else is undefined, never a throw', () => {
    for (const message of ['', 'null', '[]', '{"type":"stream.live"}', '{"type":"other","streamId":"s"}', '{"type":"stream.live","streamId":"s","name":"n","node":"a","url":"u","token":0}', '{"type":"stream.renditions-wanted","streamId":"s","node":"a","codecs":"VP8"}', '\u0000{']) {
      expect(parseClusterEvent(message)).toBeUndefined();
    }
    let seed = 11;
    const valid = JSON.stringify({ type: 'stream.offline', streamId: 's', name: 'show', node: 'a', token: 3 });
    for (let i = 0; i < 3000; i += 1) {
      const chars = [...valid];
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      chars[seed % chars.length] = String.fromCharCode(seed % 128);
      expect(() => parseClusterEvent(chars.join(''))).not.toThrow();
    }
  });
});

describe('redis helpers', () => {
  it('reconnects quickly, never slower than once a second', () => {
    expect([1, 2, 3, 4, 5, 6, 10, 100].map(reconnectDelayMs)).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('never logs a password', () => {
    expect(redactRedisUrl('redis://:s3cret@redis.internal:6379/0')).toBe('redis://:***@redis.internal:6379/0');
    expect(redactRedisUrl('rediss://user:pw@r:6380')).not.toContain('pw');
    expect(redactRedisUrl('::not a url')).toBe('(unparsable URL)');
  });
});
