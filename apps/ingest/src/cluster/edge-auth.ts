/**
 * How one ingest node pulls a stream from another and proves it is a node of the same cluster.
 * Every node holds the admin token (ONAIR_ADMIN_TOKEN, the same on all of them); an edge sends a
 * key derived from it (never the token itself) as its WHEP bearer. Only a proven edge is believed
 * about its hop path and is served without the per-client caps meant for strangers (an edge
 * restarting may pull hundreds of streams at once).
 *
 * Headers of an edge pull:
 * - `Authorization: Bearer <edge key>`;
 * - `Onair-Edge-Path: <node>,<node>,…`: the nodes the pull has come through, the requester last.
 *   A node that finds itself there answers 508 loop_detected (an ONAIR_EDGE_UPSTREAM cycle), as
 *   does one past the hop limit;
 * - `Onair-Lease-Token: <n>`: the origin's fencing token the edge read from the directory, when
 *   it pulls from the origin itself; the origin serves only while Redis confirms it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { OnairError } from '@onair/shared/errors';

export const EDGE_PATH_HEADER = 'onair-edge-path';
export const LEASE_TOKEN_HEADER = 'onair-lease-token';

/** Node ids: short, printable, no commas or spaces (they travel in a header list). */
export const NODE_ID = /^[A-Za-z0-9@._:[\]-]{1,128}$/;

export interface EdgeRequest {
  /** Nodes the pull came through, the requesting edge last. */
  path: string[];
  /** The lease token the edge expects this node to hold, when it pulls from the origin. */
  leaseToken: number | undefined;
}

/** The bearer an edge presents (HMAC-SHA256 of a purpose label, keyed by the admin token). */
export function edgeKey(adminToken: string): string {
  return createHmac('sha256', adminToken).update('onair edge pull v1').digest('base64url');
}

/** The headers of a pull made by `self` on behalf of `path` (the downstream nodes, if chained). */
export function edgeHeaders(adminToken: string, path: string[], self: string, leaseToken: number | undefined): Record<string, string> {
  return {
    Authorization: `Bearer ${edgeKey(adminToken)}`,
    [EDGE_PATH_HEADER]: [...path, self].join(','),
    ...(leaseToken !== undefined ? { [LEASE_TOKEN_HEADER]: String(leaseToken) } : {}),
  };
}

/**
 * The edge pull this request is, or undefined for an ordinary viewer (no or another bearer: its
 * edge headers are ignored). Throws 400 for a malformed path or token, 508 loop_detected when
 * `self` is on the path already or the path has `maxHops` nodes.
 */
export function readEdgeRequest(headers: IncomingHttpHeaders, adminToken: string, self: string, maxHops: number): EdgeRequest | undefined {
  const authorization = headers.authorization;
  if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return undefined;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  if (!timingSafeEqual(digest(authorization.slice('Bearer '.length).trim()), digest(edgeKey(adminToken)))) return undefined;
  const rawPath = headers[EDGE_PATH_HEADER];
  if (typeof rawPath !== 'string' || rawPath.length > 4096) throw new OnairError('bad_request', `An edge pull needs one ${EDGE_PATH_HEADER} header (node ids, comma-separated).`);
  const path = rawPath.split(',').map((node) => node.trim());
  if (path.some((node) => !NODE_ID.test(node))) throw new OnairError('bad_request', `${EDGE_PATH_HEADER} must list node ids (1–128 of A–Z a–z 0–9 @ . _ : [ ] -), comma-separated.`);
  if (path.includes(self)) throw new OnairError('loop_detected', `This edge pull has come back to node ${self} (path ${path.join(' → ')}): the edges' upstreams form a cycle.`);
  if (path.length >= maxHops) throw new OnairError('loop_detected', `This edge pull has come through ${path.length} nodes (${path.join(' → ')}); at most ${maxHops - 1} edges may chain.`);
  const rawToken = headers[LEASE_TOKEN_HEADER];
  let leaseToken: number | undefined;
  if (rawToken !== undefined) {
    if (typeof rawToken !== 'string' || !/^[1-9]\d{0,15}$/.test(rawToken)) throw new OnairError('bad_request', `${LEASE_TOKEN_HEADER} must be a positive integer.`);
    leaseToken = Number(rawToken);
  }
  return { path, leaseToken };
}
