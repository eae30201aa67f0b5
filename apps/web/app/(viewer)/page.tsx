import { LiveStreamList } from '../../components/live-stream-list';

export default function HomePage() {
  return (
    <main className="page">
      <h1 className="page__title">Live now</h1>
      <p className="page__subtitle">Streams on this server, updated as they start and stop.</p>
      <LiveStreamList />
    </main>
  );
}
