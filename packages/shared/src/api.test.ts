import { describe, expect, it } from 'vitest';
import { createStreamRequestSchema, streamNameSchema } from './api';

describe('stream names', () => {
  it.each(['demo', 'a', 'my-stream_2', '0day'])('accepts %s', (name) => {
    expect(streamNameSchema.safeParse(name).success).toBe(true);
  });
  it.each(['', 'Demo', '-x', 'a/b', '../etc', 'x'.repeat(65), 'white space', 'ünï'])('rejects %j', (name) => {
    expect(streamNameSchema.safeParse(name).success).toBe(false);
  });
  it('rejects unknown members in a create request', () => {
    expect(createStreamRequestSchema.safeParse({ name: 'ok', key: 'x' }).success).toBe(false);
  });
});
