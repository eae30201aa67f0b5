'use client';

import Link from 'next/link';
import type { PublicLiveStream } from '@onair/shared/api';
import { formatSince, formatViewers, resolutionLabel } from '../lib/format';
import { useLiveStreams, useNow } from '../lib/use-live-streams';

/** The live streams as cards, polled every 2 s; an empty state that points to /broadcast. */
export function LiveStreamList() {
  const { streams, error } = useLiveStreams(2000);
  const now = useNow(1000);

  return (
    <section data-testid="live-list" data-count={streams?.length ?? ''} aria-live="polite">
      {error && (
        <div className="notice" role="status">
          {streams === null ? 'Can’t load the live streams' : 'Can’t update the list right now'} ({error}). Retrying…
        </div>
      )}
      {streams === null && error ? null : streams === null ? (
        <div className="stream-grid" aria-busy="true">
          {[0, 1, 2].map((i) => (
            <div key={i} className="skeleton" />
          ))}
        </div>
      ) : streams.length === 0 ? (
        <div className="empty-state" data-testid="empty-state">
          <h2 className="empty-state__title">No one is live</h2>
          <p>
            No one is live. Go live from <Link href="/broadcast">/broadcast</Link>
          </p>
          <Link href="/broadcast" className="btn btn--primary">
            Go live
          </Link>
        </div>
      ) : (
        <div className="stream-grid">
          {streams.map((stream) => (
            <StreamCard key={stream.name} stream={stream} now={now} />
          ))}
        </div>
      )}
    </section>
  );
}

function StreamCard({ stream, now }: { stream: PublicLiveStream; now: number }) {
  const resolution = resolutionLabel(stream.video?.width, stream.video?.height);
  const fps = stream.video?.fps ? `${Math.round(stream.video.fps)} fps` : null;
  return (
    <Link href={`/watch/${encodeURIComponent(stream.name)}`} className="stream-card" data-testid="stream-card" data-stream={stream.name}>
      <div className="stream-card__thumb">
        <span className="stream-card__initial" aria-hidden="true">
          {stream.name.charAt(0)}
        </span>
        <div className="stream-card__badges">
          <span className="badge badge--live">Live</span>
          {resolution && <span className="badge badge--plain">{resolution}</span>}
        </div>
        <span className="badge badge--plain stream-card__viewers">{formatViewers(stream.viewers)}</span>
      </div>
      <div className="stream-card__body">
        <h2 className="stream-card__name">{stream.name}</h2>
        <p className="stream-card__meta">
          Live for {formatSince(stream.since, now)}
          {fps ? ` · ${fps}` : ''}
          {stream.video?.codec ? ` · ${stream.video.codec}` : ''}
        </p>
      </div>
    </Link>
  );
}
