/** One profile: read, replace (live jobs using it restart with the new ladder), delete. */
import { z } from 'zod';
import { json, readBody } from '../../../../../lib/server/body';
import { dashboardRoute } from '../../../../../lib/server/session';
import { transcoderClient } from '../../../../../lib/server/transcoder-client';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ name: string }> };

export const GET = dashboardRoute<Context>(async (_request, { params }) => json(await transcoderClient.getProfile((await params).name)));

/**
 * Replacing a profile changes only what future jobs use, so the live jobs on it are re-applied
 * (`PUT /api/jobs/<stream>/profile` restarts an active job with the profile as stored now): an
 * operator who edits a ladder sees it on air, and the master playlist follows.
 */
export const PUT = dashboardRoute<Context>(async (request, { params }) => {
  const name = (await params).name;
  const profile = await transcoderClient.replaceProfile(name, await readBody(request, z.record(z.string(), z.unknown())));
  const active = (await transcoderClient.listJobs()).filter((job) => job.profile === name && ACTIVE.has(job.state));
  await Promise.all(active.map((job) => transcoderClient.setProfile(job.stream, name)));
  return json({ ...profile, restarted: active.map((job) => job.stream) });
});

const ACTIVE = new Set(['starting', 'running', 'restarting']);

export const DELETE = dashboardRoute<Context>(async (_request, { params }) => {
  await transcoderClient.deleteProfile((await params).name);
  return new Response(null, { status: 204 });
});
