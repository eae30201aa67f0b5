/** Start, stop or restart a stream's transcoder job. */
import { OnairError } from '@onair/shared/errors';
import { json } from '../../../../../../lib/server/body';
import { dashboardRoute } from '../../../../../../lib/server/session';
import { JOB_ACTIONS, transcoderClient, type JobAction } from '../../../../../../lib/server/transcoder-client';

export const dynamic = 'force-dynamic';

export const POST = dashboardRoute<{ params: Promise<{ stream: string; action: string }> }>(async (_request, { params }) => {
  const { stream, action } = await params;
  if (!JOB_ACTIONS.includes(action as JobAction)) throw new OnairError('not_found', `No job action "${action}": use start, stop or restart.`);
  return json((await transcoderClient.jobAction(stream, action as JobAction)) ?? { ok: true });
});
