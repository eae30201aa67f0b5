/** Profiles (ABR ladders): list, create. The transcoder validates; its problem+json is passed on. */
import { z } from 'zod';
import { json, readBody } from '../../../../lib/server/body';
import { dashboardRoute } from '../../../../lib/server/session';
import { transcoderClient } from '../../../../lib/server/transcoder-client';

export const dynamic = 'force-dynamic';

export const GET = dashboardRoute(async () => json(await transcoderClient.listProfiles()));

export const POST = dashboardRoute(async (request) => json(await transcoderClient.createProfile(await readBody(request, z.record(z.string(), z.unknown()))), 201));
