'use client';

import Link from 'next/link';
import { useState } from 'react';
import type { PlaybackStatus } from '../lib/playback';
import type { ModePreference } from '../lib/playback-fallback';
import { formatSince, formatViewers, resolutionLabel } from '../lib/format';
import { useLiveStreams, useNow } from '../lib/use-live-streams';
import { Player } from './player';

/** The watch page body: the player and what is known about the stream from the live list. */
export function WatchView({ stream, preference = 'auto', hlsBase = '' }: { stream: string; preference?: ModePreference; hlsBase?: string }) {
  const [status, setStatus] = useState<PlaybackStatus>({ state: 'connecting', detail: null });
  const [delivery, setDelivery] = useState<{ label: string; why: string | null }>({ label: preference === 'hls' ? 'HLS' : 'WebRTC', why: null });
  const { streams } = useLiveStreams(3000);
  const now = useNow(1000);
  // The player knows first when the stream stops (it sees the frames stop); the list, polled
  // every few seconds, may lag behind: never show "live" next to an offline player.
  const listed = streams?.find((s) => s.name === stream) ?? null;
  const info = status.state === 'offline' ? null : listed;
  const resolution = resolutionLabel(info?.video?.width, info?.video?.height);

  return (
    <div className="watch">
      <div>
        <Player stream={stream} preference={preference} hlsBase={hlsBase} videoCodec={listed?.webrtcCodecs?.join(',') || (listed?.video?.codec ?? null)} onStatus={setStatus} onDelivery={(label, why) => setDelivery({ label, why })} />
        <h1 className="watch__title">
          {stream}
          {info || status.state === 'live' ? <span className="badge badge--live">Live</span> : streams || status.state === 'offline' ? <span className="badge badge--muted">Offline</span> : null}
        </h1>
        <p className="page__subtitle">
          {info ? `${formatViewers(info.viewers)} · live for ${formatSince(info.since, now)}` : status.state === 'offline' ? 'Waiting for the broadcaster to go live.' : '\u00a0'}
        </p>
      </div>
      <aside className="watch__info" aria-label="Stream details">
        <dl className="facts">
          <dt>Status</dt>
          <dd>{status.state}</dd>
          <dt>Viewers</dt>
          <dd>{info ? info.viewers : '—'}</dd>
          <dt>Resolution</dt>
          <dd>{resolution ?? '—'}</dd>
          <dt>Frame rate</dt>
          <dd>{info?.video?.fps ? `${Math.round(info.video.fps)} fps` : '—'}</dd>
          <dt>Codecs</dt>
          <dd>{[info?.video?.codec, info?.audio?.codec].filter(Boolean).join(' / ') || '—'}</dd>
          <dt>Live for</dt>
          <dd>{info ? formatSince(info.since, now) : '—'}</dd>
          <dt>Delivery</dt>
          <dd data-testid="delivery">
            {delivery.label === 'WebRTC' ? 'WebRTC (WHEP)' : delivery.label.replace(/^HLS/, 'LL-HLS')}
            {delivery.why && <span className="facts__note">{delivery.why}</span>}
          </dd>
        </dl>
        <p className="help">
          Press <kbd>m</kbd> to unmute, <kbd>f</kbd> for full screen, <kbd>s</kbd> for stats. <Link href="/">All live streams →</Link>
        </p>
      </aside>
    </div>
  );
}
