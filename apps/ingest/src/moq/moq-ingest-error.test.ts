import { describe, expect, it } from 'vitest';
import { MoqIngestError, sessionOrigin } from './moq-ingest-error';

describe('sessionOrigin', () => {
  it('is the origin of the CONNECT\'s :authority, never its path (where the stream key is)', () => {
    expect(sessionOrigin('ingest.example:4443').href).toBe('https://ingest.example:4443/');
    expect(sessionOrigin('[::1]:4443').href).toBe('https://[::1]:4443/');
  });

  it('refuses an :authority that is not a host with moq_bad_authority, without echoing it (a URL error put "https://[/moq?key=…" in the error log)', () => {
    for (const authority of ['[', 'a b', '<', 'host/path', 'user:pw@host', 'host?x', '']) {
      let caught: unknown;
      try {
        sessionOrigin(authority);
      } catch (error) {
        caught = error;
      }
      expect(caught, authority).toBeInstanceOf(MoqIngestError);
      expect((caught as MoqIngestError).code).toBe('moq_bad_authority');
      expect((caught as MoqIngestError).message).not.toContain(authority || 'x'.repeat(99));
    }
  });
});
