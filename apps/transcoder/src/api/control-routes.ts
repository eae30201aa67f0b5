/**
 * The transcoder's control API (admin bearer token, problem+json errors):
 *
 *   GET    /api/jobs                          jobs with state, stats, profile, restarts, last error, and
 *                                             `hlsViewers` (clients that fetched its HLS media in the last ~6 s)
 *   GET    /api/jobs/:stream/logs?limit=N     last ffmpeg log lines
 *   POST   /api/jobs/:stream/start|stop|restart
 *   PUT    /api/jobs/:stream/profile {profile} choose the profile (restarts a live job)
 *   GET    /api/profiles                      built-in and stored profiles
 *   POST   /api/profiles                      create
 *   GET|PUT|DELETE /api/profiles/:name
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { bearerToken, readBody, readJson, requireContentType, sendJson, type Router } from '@onair/service/http';
import { streamNameSchema } from '@onair/shared/api';
import { OnairError } from '@onair/shared/errors';
import type { JobManager } from '../jobs/job-manager';
import type { ProfileStore } from '../ladder/profile-store';

const profileChoiceSchema = z.object({ profile: z.string().min(1, 'profile must not be empty') }).strict();

export interface ControlRouteDeps {
  jobs: JobManager;
  profiles: ProfileStore;
  adminToken: string;
  /** Active HLS viewers of a stream (the origin's ViewerCounter); 0 when absent. */
  hlsViewers?: (stream: string) => number;
}

export function registerControlRoutes(router: Router, deps: ControlRouteDeps): void {
  const { jobs, profiles } = deps;
  const admin = (req: IncomingMessage) => requireAdmin(req, deps.adminToken);
  const hlsViewers = (stream: string) => deps.hlsViewers?.(stream) ?? 0;

  router.on('GET', '/api/jobs', ({ req, res }) => {
    admin(req);
    sendJson(res, 200, { policy: jobs.policy, jobs: jobs.list().map((job) => ({ ...job, hlsViewers: hlsViewers(job.stream) })) });
  });

  router.on('GET', '/api/jobs/:stream', ({ req, res, params }) => {
    admin(req);
    const job = jobs.require(params.stream!);
    sendJson(res, 200, { ...job.getStats(), live: jobs.isLive(job.stream), hlsViewers: hlsViewers(job.stream) });
  });

  router.on('GET', '/api/jobs/:stream/logs', ({ req, res, params, url }) => {
    admin(req);
    const job = jobs.require(params.stream!);
    const limit = Number(url.searchParams.get('limit') ?? 200);
    if (!Number.isInteger(limit) || limit < 1) throw new OnairError('bad_request', 'limit must be a positive integer.');
    sendJson(res, 200, { stream: job.stream, state: job.state, lines: job.logs(limit) });
  });

  for (const action of ['start', 'stop', 'restart'] as const) {
    router.on('POST', `/api/jobs/:stream/${action}`, async ({ req, res, params }) => {
      admin(req);
      const stream = params.stream!;
      const job = action === 'start' ? await jobs.start(stream) : action === 'stop' ? await jobs.stop(stream) : await jobs.restart(stream);
      sendJson(res, action === 'start' ? 202 : 200, { ...job.getStats(), live: jobs.isLive(stream) });
    });
  }

  router.on('PUT', '/api/jobs/:stream/profile', async ({ req, res, params }) => {
    admin(req);
    // The choice is persisted before the stream is ever live: keep junk names out of the table.
    if (!streamNameSchema.safeParse(params.stream).success) throw new OnairError('bad_request', `"${params.stream}" is not a valid stream name.`);
    const { profile } = await readJson(req, profileChoiceSchema);
    const chosen = await jobs.setProfile(params.stream!, profile);
    sendJson(res, 200, { stream: params.stream, profile: chosen.name, job: jobs.get(params.stream!)?.getStats() ?? null });
  });

  router.on('GET', '/api/profiles', ({ req, res }) => {
    admin(req);
    sendJson(res, 200, { profiles: profiles.list() });
  });

  router.on('POST', '/api/profiles', async ({ req, res }) => {
    admin(req);
    const profile = profiles.save(await readProfileBody(req), 'create');
    sendJson(res, 201, { ...profile, builtin: false }, { Location: `/api/profiles/${profile.name}` });
  });

  router.on('GET', '/api/profiles/:name', ({ req, res, params }) => {
    admin(req);
    const profile = profiles.get(params.name!);
    sendJson(res, 200, { ...profile, builtin: profiles.list().find((p) => p.name === profile.name)?.builtin ?? false, streams: profiles.streamsUsing(profile.name) });
  });

  router.on('PUT', '/api/profiles/:name', async ({ req, res, params }) => {
    admin(req);
    const body = await readProfileBody(req);
    const name = params.name!;
    if (body && typeof body === 'object' && 'name' in body && (body as { name: unknown }).name !== name) {
      throw new OnairError('invalid_profile', `The body names profile "${String((body as { name: unknown }).name)}" but the URL names "${name}".`);
    }
    const existing = profiles.find(name);
    const profile = profiles.save({ ...(body as object), name }, existing ? 'replace' : 'create');
    sendJson(res, existing ? 200 : 201, { ...profile, builtin: false });
  });

  router.on('DELETE', '/api/profiles/:name', ({ req, res, params }) => {
    admin(req);
    profiles.delete(params.name!);
    res.writeHead(204).end();
  });
}

/** The profile body as JSON; validation (with every problem listed) is the profile schema's job. */
async function readProfileBody(req: IncomingMessage): Promise<unknown> {
  requireContentType(req, 'application/json');
  const raw = await readBody(req, 64 * 1024);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new OnairError('invalid_body', 'The body is not valid JSON.');
  }
}

export function requireAdmin(req: IncomingMessage, expected: string): void {
  const token = bearerToken(req);
  const a = Buffer.from(token);
  const b = Buffer.from(expected);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new OnairError('invalid_admin_token', 'The admin token is not valid.');
}
