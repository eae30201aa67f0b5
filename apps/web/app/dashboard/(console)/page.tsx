import type { Metadata } from 'next';
import { StreamsPanel } from '../../../components/dashboard/streams-panel';
import { requireSession } from '../../../lib/server/session';

export const metadata: Metadata = { title: 'Streams · dashboard' };
export const dynamic = 'force-dynamic';

export default async function Page() {
  await requireSession('page');
  return <StreamsPanel />;
}
