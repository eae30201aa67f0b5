'use client';
/** Streams and keys: create, rename, delete; key show/copy/rotate; OBS and browser settings; live state and charts. */
import { useState, type FormEvent } from 'react';
import { api, DashboardApiError } from './api';
import { Chart, COLORS } from './chart';
import { CopyButton } from './copy-button';
import styles from './dashboard.module.css';
import { dash, duration, fmt, kbps, mask } from './format';
import { useLiveData } from './live-data';
import { HealthProblems, Notice, ServiceProblem } from './notice';
import type { DashboardStream, Snapshot } from './types';

/** How the stream comes in, as an operator calls it. */
const PUBLISH_PROTOCOL: Record<string, string> = { whip: 'WHIP (WebRTC)', webtransport: 'WebTransport (MoQ)', edge: 'edge pull' };

export function StreamsPanel() {
  const { snapshot, history, connected } = useLiveData();
  if (!snapshot) return <p className={styles.muted}>{connected ? 'Loading…' : 'Connecting to the live event stream…'}</p>;
  const ingest = snapshot.ingest;
  return (
    <section className={styles.section}>
      <header className={styles.sectionHeader}>
        <h1>Streams</h1>
        <CreateStreamForm />
      </header>
      <HealthProblems service="ingest" report={snapshot.health.ingest} />
      <HealthProblems service="transcoder" report={snapshot.health.transcoder} />
      {snapshot.transcoder.ok ? null : (
        <p className={styles.hint} data-testid="transcoder-unreachable">
          The transcoder is not answering ({snapshot.transcoder.error.detail}): streams still work over WebRTC, without HLS or renditions. Viewers shown are WebRTC only.
        </p>
      )}
      {!ingest.ok ? (
        <ServiceProblem service="ingest" error={ingest.error} url={snapshot.ingestUrl} />
      ) : ingest.data.length === 0 ? (
        <Notice title="No streams yet" testId="streams-empty">
          <p>Create one above: give it a name (lower-case letters, digits, “-” and “_”), then go live from the browser link or OBS with its key.</p>
        </Notice>
      ) : (
        <div className={styles.cards}>
          {ingest.data.map((stream) => (
            <StreamCard key={stream.id} stream={stream} history={history} now={snapshot.at} />
          ))}
        </div>
      )}
    </section>
  );
}

function CreateStreamForm() {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('/streams', { method: 'POST', body: { name: name.trim() } });
      setName('');
    } catch (e) {
      setError(e instanceof DashboardApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className={styles.inlineForm} onSubmit={submit} data-testid="create-stream">
      <input className={styles.input} placeholder="new stream name, e.g. studio" value={name} onChange={(e) => setName(e.target.value)} aria-label="New stream name" required />
      <button className={styles.button} disabled={busy || !name.trim()} type="submit">
        Create stream
      </button>
      {error ? (
        <span className={styles.formError} role="alert">
          {error}
        </span>
      ) : null}
    </form>
  );
}

function StreamCard({ stream, history, now }: { stream: DashboardStream; history: readonly Snapshot[]; now: number }) {
  const [showKey, setShowKey] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const [newName, setNewName] = useState(stream.name);
  const [confirm, setConfirm] = useState<'delete' | 'rotate' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { state, viewers } = stream;
  const video = state.video;
  const origin = typeof window === 'undefined' ? '' : window.location.origin;
  const broadcastUrl = `${origin}/broadcast?key=${encodeURIComponent(stream.streamKey)}`;
  const watchUrl = `${origin}/watch/${stream.name}`;

  const run = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
      return true;
    } catch (e) {
      setError(e instanceof DashboardApiError ? e.message : String(e));
      return false;
    }
  };

  const series = (pick: (s: DashboardStream) => number | null | undefined): Array<[number, number | null]> =>
    history.map((snap) => {
      const s = snap.ingest.ok ? snap.ingest.data.find((x) => x.id === stream.id) : undefined;
      return [snap.at, s && s.state.live ? (pick(s) ?? null) : null];
    });

  const bitrate = series((s) => s.state.video?.bitrateKbps);

  return (
    <article className={styles.card} data-testid={`stream-${stream.name}`} data-live={state.live ? 'true' : 'false'}>
      <header className={styles.cardHeader}>
        {renaming ? (
          <form
            className={styles.inlineForm}
            onSubmit={async (e) => {
              e.preventDefault();
              if (await run(() => api(`/streams/${stream.id}`, { method: 'PATCH', body: { name: newName.trim() } }))) setRenaming(false);
            }}
          >
            <input className={styles.input} value={newName} onChange={(e) => setNewName(e.target.value)} aria-label="Stream name" autoFocus />
            <button className={styles.buttonSmall} type="submit">
              Save
            </button>
            <button className={styles.buttonSmall} type="button" onClick={() => setRenaming(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <h2 className={styles.cardTitle}>
            {stream.name}
            {state.live ? (
              <span className={styles.badgeLive} data-testid="live-badge">
                LIVE
              </span>
            ) : (
              <span className={styles.badgeIdle}>offline</span>
            )}
            {state.live ? <span className={styles.muted}>for {duration(state.since, now)}</span> : null}
          </h2>
        )}
        <div className={styles.actions}>
          {!renaming ? (
            <button className={styles.buttonSmall} onClick={() => setRenaming(true)}>
              Rename
            </button>
          ) : null}
          <a className={styles.buttonSmall} href={`/watch/${stream.name}`} target="_blank" rel="noreferrer">
            Watch
          </a>
          <button className={styles.buttonDanger} onClick={() => setConfirm('delete')} data-testid="delete-stream">
            Delete
          </button>
        </div>
      </header>

      {confirm ? (
        <div className={styles.confirm} role="alertdialog" data-testid="confirm">
          <span>
            {confirm === 'delete'
              ? `Delete “${stream.name}”? Its publisher and viewers are disconnected and its key stops working.`
              : `Rotate the key of “${stream.name}”? A publisher using the current key is disconnected and must use the new one.`}
          </span>
          <button
            className={styles.buttonDanger}
            data-testid="confirm-yes"
            onClick={async () => {
              await run(() => (confirm === 'delete' ? api(`/streams/${stream.id}`, { method: 'DELETE' }) : api(`/streams/${stream.id}/rotate-key`, { method: 'POST' })));
              setConfirm(null);
            }}
          >
            {confirm === 'delete' ? 'Delete' : 'Rotate key'}
          </button>
          <button className={styles.buttonSmall} onClick={() => setConfirm(null)}>
            Cancel
          </button>
        </div>
      ) : null}
      {error ? (
        <p className={styles.formError} role="alert">
          {error}
        </p>
      ) : null}

      <dl className={styles.stats} data-testid="live-stats">
        <Stat label="Ingest" value={state.publisher ? (PUBLISH_PROTOCOL[state.publisher.protocol] ?? state.publisher.protocol) : dash} testId="stat-ingest-protocol" />
        <Stat label="Video" value={video ? video.codec : dash} />
        <Stat label="Resolution" value={video?.width && video.height ? `${video.width}×${video.height}` : dash} testId="stat-resolution" />
        <Stat label="Frame rate" value={fmt(video?.fps, 1, ' fps')} testId="stat-fps" />
        <Stat label="Video bitrate" value={video ? kbps(video.bitrateKbps) : dash} testId="stat-bitrate" raw={video?.bitrateKbps} />
        <Stat label="Packets lost" value={video ? fmt(video.packetsLost) : dash} />
        <Stat label="Audio" value={state.audio ? `${state.audio.codec} ${kbps(state.audio.bitrateKbps)}` : dash} />
        <Stat label="Viewers" value={fmt(viewers.total)} testId="stat-viewers" raw={viewers.total} />
        <Stat
          label="By protocol"
          value={`WebRTC ${fmt(viewers.webrtc)} · HLS ${viewers.hls === null ? dash : fmt(viewers.hls)}`}
          testId="stat-viewers-protocols"
          title={viewers.hls === null ? 'HLS viewers are unknown while the transcoder is not answering: WebRTC only.' : 'WebRTC (WHEP) viewers counted by the ingest; HLS viewers counted by the transcoder (clients that loaded media in the last ~6 s).'}
        />
      </dl>

      {state.live && state.renditions && state.renditions.length > 1 ? <RenditionTable renditions={state.renditions} /> : null}

      {state.live || bitrate.some(([, v]) => v !== null) ? (
        <div className={styles.chartRow}>
          <Chart title="Ingest bitrate" now={now} series={[{ label: 'video', color: COLORS[0]!, points: bitrate, format: (v) => kbps(v) }]} testId="chart-bitrate" />
          <Chart title="Frame rate" now={now} series={[{ label: 'fps', color: COLORS[2]!, points: series((s) => s.state.video?.fps), format: (v) => fmt(v, 1) }]} />
          <Chart
            title="Viewers"
            now={now}
            testId="chart-viewers"
            series={[
              { label: 'total', color: COLORS[3]!, points: series((s) => s.viewers.total) },
              { label: 'WebRTC', color: COLORS[0]!, points: series((s) => s.viewers.webrtc) },
              { label: 'HLS', color: COLORS[1]!, points: series((s) => s.viewers.hls) },
            ]}
          />
        </div>
      ) : (
        <p className={styles.hint}>Offline. Go live with the browser link or OBS settings below; figures and charts appear here as soon as media arrives.</p>
      )}

      <div className={styles.keyBlock}>
        <div className={styles.field}>
          <span className={styles.fieldLabel}>Stream key</span>
          <code className={styles.secret} data-testid="stream-key">
            {showKey ? stream.streamKey : mask(stream.streamKey)}
          </code>
          <button className={styles.buttonSmall} onClick={() => setShowKey(!showKey)} data-testid="toggle-key">
            {showKey ? 'Hide' : 'Show'}
          </button>
          <CopyButton value={stream.streamKey} />
          <button className={styles.buttonSmall} onClick={() => setConfirm('rotate')} data-testid="rotate-key">
            Rotate
          </button>
        </div>
        <details className={styles.details}>
          <summary>Go live: OBS and browser settings</summary>
          <div className={styles.field}>
            <span className={styles.fieldLabel}>OBS → Settings → Stream → Service</span>
            <code>WHIP</code>
          </div>
          <div className={styles.field}>
            <span className={styles.fieldLabel}>Server</span>
            <code data-testid="whip-url">{stream.whipUrl}</code>
            <CopyButton value={stream.whipUrl} />
          </div>
          <div className={styles.field}>
            <span className={styles.fieldLabel}>Bearer Token</span>
            <code>{showKey ? stream.streamKey : mask(stream.streamKey)}</code>
            <CopyButton value={stream.streamKey} />
          </div>
          <p className={styles.hint}>For the lowest latency: Output → x264, CBR, keyframe interval 1 s, preset veryfast, tune zerolatency, profile baseline.</p>
          <div className={styles.field}>
            <span className={styles.fieldLabel}>Broadcast from this browser</span>
            <a href={broadcastUrl} target="_blank" rel="noreferrer" data-testid="broadcast-link">
              /broadcast?key={showKey ? stream.streamKey : mask(stream.streamKey)}
            </a>
            <CopyButton value={broadcastUrl} />
          </div>
          <div className={styles.field}>
            <span className={styles.fieldLabel}>Watch link</span>
            <code>{watchUrl}</code>
            <CopyButton value={watchUrl} />
          </div>
        </details>
      </div>
    </article>
  );
}

/** What WebRTC viewers can get (the source and the transcoder's rungs) and how many watch each. */
function RenditionTable({ renditions }: { renditions: NonNullable<DashboardStream['state']['renditions']> }) {
  return (
    <table className={styles.table} data-testid="stream-renditions" title="WebRTC viewers per rendition: the server moves each viewer to what its link carries, or the viewer pins one in the player.">
      <thead>
        <tr>
          <th>Rendition</th>
          <th>Resolution</th>
          <th>Bitrate</th>
          <th>WebRTC viewers</th>
        </tr>
      </thead>
      <tbody>
        {renditions.map((r) => (
          <tr key={r.name} data-testid={`rendition-${r.name}`} data-viewers={r.viewers}>
            <td>{r.kind === 'source' ? 'source (passthrough)' : r.name}</td>
            <td>{r.width && r.height ? `${r.width}×${r.height}` : dash}</td>
            <td>{kbps(r.bitrateKbps)}</td>
            <td>{fmt(r.viewers)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Stat({ label, value, testId, raw, title }: { label: string; value: string; testId?: string; raw?: number | null; title?: string }) {
  return (
    <div className={styles.stat} title={title}>
      <dt>{label}</dt>
      <dd data-testid={testId} data-raw={raw ?? undefined}>
        {value}
      </dd>
    </div>
  );
}
