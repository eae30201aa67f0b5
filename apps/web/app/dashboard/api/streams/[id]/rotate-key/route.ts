/** Rotate a stream's key (the ingest disconnects a publisher using the old one). */
import { json } from '../../../../../../lib/server/body';
import { ingestClient } from '../../../../../../lib/server/ingest-client';
import { dashboardRoute } from '../../../../../../lib/server/session';

export const dynamic = 'force-dynamic';

export const POST = dashboardRoute<{ params: Promise<{ id: string }> }>(async (_request, { params }) => json(await ingestClient.rotateKey((await params).id)));
