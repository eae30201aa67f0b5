import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { streamNameSchema } from '@onair/shared/api';
import { WatchView } from '../../../../components/watch-view';

type Props = { params: Promise<{ stream: string }> };

async function streamName(params: Props['params']): Promise<string | null> {
  const { stream } = await params;
  const parsed = streamNameSchema.safeParse(decodeURIComponent(stream));
  return parsed.success ? parsed.data : null;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const name = await streamName(params);
  return { title: name ? `${name} (live)` : 'Not found' };
}

export default async function WatchPage({ params }: Props) {
  const name = await streamName(params);
  if (!name) notFound();
  return (
    <main className="page">
      {/* key: a different stream gets a fresh player (new session, fresh state). */}
      <WatchView key={name} stream={name} />
    </main>
  );
}
