import { describe, expect, it } from 'vitest';
import { webTransportDiscoverySchema } from '@onair/shared/api';
import { parseDiscovery } from './moq-session';

const hash = 'ab'.repeat(32);

describe('parseDiscovery (the broadcaster\'s zod-free reading of GET /api/webtransport)', () => {
  it.each([
    [{ url: 'https://127.0.0.1:8443/moq', serverCertificateHashes: [{ algorithm: 'sha-256', value: hash }] }],
    [{ url: 'https://live.example.org:8443/moq', serverCertificateHashes: [] }],
    [{ url: 'http://127.0.0.1:8443/moq', serverCertificateHashes: [] }],
    [{ url: 'not a url', serverCertificateHashes: [] }],
    [{ url: 'https://x/moq', serverCertificateHashes: [{ algorithm: 'sha-1', value: hash }] }],
    [{ url: 'https://x/moq', serverCertificateHashes: [{ algorithm: 'sha-256', value: 'AB'.repeat(32) }] }],
    [{ url: 'https://x/moq', serverCertificateHashes: [null] }],
    [{ url: 'https://x/moq' }],
    [null],
    ['https://x/moq'],
  ])('agrees with the API schema on %j', (body) => {
    const schema = webTransportDiscoverySchema.safeParse(body);
    const expected = schema.success && new URL(schema.data.url).protocol === 'https:' ? schema.data : undefined;
    expect(parseDiscovery(body)).toEqual(expected);
  });
});
