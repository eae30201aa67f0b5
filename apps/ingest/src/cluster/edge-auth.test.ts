import { describe, expect, it } from 'vitest';
import { EDGE_PATH_HEADER, edgeHeaders, edgeKey, LEASE_TOKEN_HEADER, readEdgeRequest } from './edge-auth';

const TOKEN = 'test-admin-token-0123456789';
const lower = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));

describe('edge pull headers', () => {
  it('round-trip: what an edge sends is read back as its path and token', () => {
    const headers = lower(edgeHeaders(TOKEN, ['edge-1'], 'edge-2', 42));
    expect(readEdgeRequest(headers, TOKEN, 'origin', 4)).toEqual({ path: ['edge-1', 'edge-2'], leaseToken: 42 });
    expect(readEdgeRequest(lower(edgeHeaders(TOKEN, [], 'b:8080', undefined)), TOKEN, 'a:8080', 4)).toEqual({ path: ['b:8080'], leaseToken: undefined });
  });

  it('a viewer without the edge key is an ordinary viewer whatever headers it writes', () => {
    const forged = { authorization: 'Bearer guess', [EDGE_PATH_HEADER]: 'origin', [LEASE_TOKEN_HEADER]: 'x' };
    expect(readEdgeRequest(forged, TOKEN, 'origin', 4)).toBeUndefined();
    expect(readEdgeRequest({ [EDGE_PATH_HEADER]: 'a' }, TOKEN, 'origin', 4)).toBeUndefined();
    // Another cluster's key (another admin token) is a stranger's.
    expect(readEdgeRequest(lower(edgeHeaders('another-admin-token-xyz', [], 'b', undefined)), TOKEN, 'a', 4)).toBeUndefined();
    expect(edgeKey(TOKEN)).not.toContain(TOKEN);
  });

  it.each([
    ['itself on the path', ['a', 'origin'], 'loop_detected'],
    ['the hop limit reached', ['a', 'b', 'c', 'd'], 'loop_detected'],
    ['a node id with a space', ['a b'], 'bad_request'],
    ['an empty node id', ['a', ''], 'bad_request'],
  ])('refuses %s', (_what, path, code) => {
    const headers = { authorization: `Bearer ${edgeKey(TOKEN)}`, [EDGE_PATH_HEADER]: path.join(',') };
    expect(() => readEdgeRequest(headers, TOKEN, 'origin', 4)).toThrow(expect.objectContaining({ code }));
  });

  it.each(['0', '-1', '1.5', 'abc', '99999999999999999'])('refuses the lease token %s', (token) => {
    const headers = { authorization: `Bearer ${edgeKey(TOKEN)}`, [EDGE_PATH_HEADER]: 'a', [LEASE_TOKEN_HEADER]: token };
    expect(() => readEdgeRequest(headers, TOKEN, 'origin', 4)).toThrow(expect.objectContaining({ code: 'bad_request' }));
  });

  it('corrupted headers never throw anything but an OnairError', () => {
    const alphabet = 'ab,: \t[]-@.\u0000é';
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 3000; i += 1) {
      const path = Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      const token = Array.from({ length: Math.floor(random() * 6) }, () => '0123456789-x'[Math.floor(random() * 12)]).join('');
      const headers = { authorization: `Bearer ${edgeKey(TOKEN)}`, [EDGE_PATH_HEADER]: path, [LEASE_TOKEN_HEADER]: token };
      try {
        readEdgeRequest(headers, TOKEN, 'origin', 4);
      } catch (error) {
        expect(error).toMatchObject({ name: 'OnairError' });
      }
    }
  });
});
