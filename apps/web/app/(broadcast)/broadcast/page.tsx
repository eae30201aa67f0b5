import type { Metadata } from 'next';
import { Broadcaster } from '../../../components/broadcaster';
import { streamForKey } from '../../../lib/server/stream-for-key';

export const metadata: Metadata = { title: 'Go live' };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function BroadcastPage({ searchParams }: Props) {
  // A link may carry the key (`?key=`): say which stream it goes live on. Going live still takes
  // the person's click (no `?autostart`): a link must not start someone's camera streaming.
  const raw = (await searchParams).key;
  const key = Array.isArray(raw) ? raw[0] : raw;
  const target = key ? await streamForKey(key) : null;
  return (
    <main className="page">
      <h1 className="page__title">Go live</h1>
      <p className="page__subtitle">Broadcast your camera, screen or microphone from this browser.</p>
      <Broadcaster linkKey={key ?? null} target={target} />
    </main>
  );
}
