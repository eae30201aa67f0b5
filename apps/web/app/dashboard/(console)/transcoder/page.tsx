import type { Metadata } from 'next';
import { TranscoderPanel } from '../../../../components/dashboard/transcoder-panel';
import { requireSession } from '../../../../lib/server/session';

export const metadata: Metadata = { title: 'Transcoder · dashboard' };
export const dynamic = 'force-dynamic';

export default async function Page() {
  await requireSession('page');
  return <TranscoderPanel />;
}
