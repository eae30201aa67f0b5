import type { Metadata } from 'next';
import { Broadcaster } from '../../../components/broadcaster';

export const metadata: Metadata = { title: 'Go live' };

export default function BroadcastPage() {
  return (
    <main className="page">
      <h1 className="page__title">Go live</h1>
      <p className="page__subtitle">Broadcast your camera, screen or microphone from this browser.</p>
      <Broadcaster />
    </main>
  );
}
