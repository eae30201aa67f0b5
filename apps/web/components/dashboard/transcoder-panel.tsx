'use client';
/** Transcoder jobs: state, encoder and process figures per job and per rendition, controls, profile, ffmpeg log. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, DashboardApiError } from './api';
import { Chart, COLORS } from './chart';
import styles from './dashboard.module.css';
import { bytes, dash, duration, fmt, kbps } from './format';
import { useLiveData } from './live-data';
import { HealthProblems, Notice, ServiceProblem } from './notice';
import type { JobView, ProfileDoc, Snapshot } from './types';

/** The transcoder's profiles; while they cannot be loaded, retried every 2 s (the error is shown meanwhile). */
export function useProfiles(): { profiles: ProfileDoc[] | null; error: string | null; reload: () => void } {
  const [profiles, setProfiles] = useState<ProfileDoc[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  useEffect(() => {
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    api<ProfileDoc[]>('/profiles')
      .then((list) => {
        if (stopped) return;
        setProfiles(list);
        setError(null);
      })
      .catch((e: unknown) => {
        if (stopped) return;
        setError(e instanceof Error ? e.message : String(e));
        retry = setTimeout(() => setAttempt((n) => n + 1), 2_000);
      });
    return () => {
      stopped = true;
      clearTimeout(retry);
    };
  }, [attempt]);
  return { profiles, error, reload };
}

export function TranscoderPanel() {
  const { snapshot, history, connected } = useLiveData();
  const { profiles } = useProfiles();
  if (!snapshot) return <p className={styles.muted}>{connected ? 'Loading…' : 'Connecting to the live event stream…'}</p>;
  const { transcoder, ingest } = snapshot;
  const jobs = transcoder.ok ? transcoder.data : [];
  const liveWithoutJob = ingest.ok ? ingest.data.filter((s) => s.state.live && !jobs.some((j) => j.stream === s.name)) : [];
  return (
    <section className={styles.section}>
      <header className={styles.sectionHeader}>
        <h1>Transcoder</h1>
        <span className={styles.muted}>{snapshot.transcoderUrl}</span>
      </header>
      <HealthProblems service="transcoder" report={snapshot.health.transcoder} />
      {!transcoder.ok ? (
        <ServiceProblem service="transcoder" error={transcoder.error} url={snapshot.transcoderUrl} />
      ) : jobs.length === 0 && liveWithoutJob.length === 0 ? (
        <Notice title="No transcoder jobs" testId="jobs-empty">
          <p>A job starts by itself when a stream goes live. Go live on a stream (see Streams), and its ladder appears here.</p>
        </Notice>
      ) : null}
      <div className={styles.cards}>
        {jobs.map((job) => (
          <JobCard key={job.stream} job={job} history={history} now={snapshot.at} profiles={profiles} />
        ))}
        {transcoder.ok
          ? liveWithoutJob.map((s) => (
              <article key={s.id} className={styles.card} data-testid={`job-${s.name}`} data-state="none">
                <header className={styles.cardHeader}>
                  <h2 className={styles.cardTitle}>
                    {s.name} <span className={styles.badgeIdle}>no job</span>
                  </h2>
                  <JobButtons stream={s.name} />
                </header>
              </article>
            ))
          : null}
      </div>
    </section>
  );
}

function JobButtons({ stream, state }: { stream: string; state?: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (action: 'start' | 'stop' | 'restart') => {
    setBusy(true);
    setError(null);
    try {
      await api(`/jobs/${encodeURIComponent(stream)}/${action}`, { method: 'POST' });
    } catch (e) {
      setError(e instanceof DashboardApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const running = state === 'running' || state === 'starting' || state === 'restarting';
  return (
    <div className={styles.actions}>
      <button className={styles.buttonSmall} disabled={busy || running} onClick={() => act('start')} data-testid="job-start">
        Start
      </button>
      <button className={styles.buttonSmall} disabled={busy || !running} onClick={() => act('stop')} data-testid="job-stop">
        Stop
      </button>
      <button className={styles.buttonSmall} disabled={busy || state === undefined || state === 'stopped'} onClick={() => act('restart')} data-testid="job-restart">
        Restart
      </button>
      {error ? (
        <span className={styles.formError} role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

const STATE_CLASS: Record<string, string | undefined> = {
  running: styles.badgeLive,
  starting: styles.badgeWarn,
  restarting: styles.badgeWarn,
  failed: styles.badgeError,
  stopped: styles.badgeIdle,
};

function JobCard({ job, history, now, profiles }: { job: JobView; history: readonly Snapshot[]; now: number; profiles: ProfileDoc[] | null }) {
  const jobAt = (snap: Snapshot) => (snap.transcoder.ok ? snap.transcoder.data.find((j) => j.stream === job.stream) : undefined);
  const speedSeries = [
    {
      label: 'speed',
      color: COLORS[0]!,
      format: (v: number) => `${v.toFixed(2)}×`,
      points: history.map((snap): [number, number | null] => {
        const j = jobAt(snap);
        return [snap.at, j && j.state === 'running' ? j.overall.speed : null];
      }),
    },
  ];
  const renditionSeries = job.renditions.map((r, i) => ({
    label: r.id,
    color: COLORS[(i + 1) % COLORS.length]!,
    format: (v: number) => kbps(v),
    points: history.map((snap): [number, number | null] => {
      const j = jobAt(snap);
      return [snap.at, j && j.state === 'running' ? (j.renditions.find((x) => x.id === r.id)?.bitrateKbps ?? null) : null];
    }),
  }));
  // With several outputs ffmpeg's own bitrate figure covers only part of them: prefer the sum measured per rendition.
  const measured = job.renditions.filter((r) => r.bitrateKbps !== null);
  const totalKbps = measured.length > 0 ? measured.reduce((sum, r) => sum + (r.bitrateKbps ?? 0), 0) : job.overall.bitrateKbps;
  const cpuSeries = [
    {
      label: 'ffmpeg CPU',
      color: COLORS[4]!,
      format: (v: number) => `${Math.round(v)} %`,
      points: history.map((snap): [number, number | null] => [snap.at, jobAt(snap)?.process?.cpuPercent ?? null]),
    },
  ];
  return (
    <article className={styles.card} data-testid={`job-${job.stream}`} data-state={job.state} data-pid={job.process?.pid ?? undefined}>
      <header className={styles.cardHeader}>
        <h2 className={styles.cardTitle}>
          {job.stream}
          <span className={STATE_CLASS[job.state] ?? styles.badgeIdle} data-testid="job-state">
            {job.state}
          </span>
          {job.state === 'running' && job.since ? <span className={styles.muted}>for {duration(job.since, now)}</span> : null}
          {job.live === false ? <span className={styles.muted}>stream offline</span> : null}
        </h2>
        <JobButtons stream={job.stream} state={job.state} />
      </header>
      {job.lastError && job.state !== 'running' ? (
        <Notice tone={job.state === 'failed' ? 'error' : 'warn'} title="Last error">
          <p>{job.lastError}</p>
          {/ffmpeg.*(not found|not available|ENOENT|missing)/i.test(job.lastError) ? (
            <p>
              Install ffmpeg: <code>sudo apt-get install -y ffmpeg</code>
            </p>
          ) : null}
        </Notice>
      ) : null}
      <ProfileSwitch stream={job.stream} current={job.profile} profiles={profiles} />
      <dl className={styles.stats} data-testid="job-stats">
        <div className={styles.stat}>
          <dt>Encoder fps</dt>
          <dd data-testid="job-fps">{fmt(job.overall.fps, 1)}</dd>
        </div>
        <div className={styles.stat}>
          <dt>Output bitrate</dt>
          <dd data-testid="job-bitrate">{kbps(totalKbps)}</dd>
        </div>
        <div className={styles.stat}>
          <dt>Speed</dt>
          <dd data-testid="job-speed">{fmt(job.overall.speed, 2, '×')}</dd>
        </div>
        <div className={styles.stat}>
          <dt>Dropped / duplicated</dt>
          <dd>
            {fmt(job.overall.droppedFrames)} / {fmt(job.overall.duplicatedFrames)}
          </dd>
        </div>
        <div className={styles.stat}>
          <dt>ffmpeg CPU</dt>
          <dd data-testid="job-cpu">{fmt(job.process?.cpuPercent, 0, ' %')}</dd>
        </div>
        <div className={styles.stat}>
          <dt>ffmpeg memory</dt>
          <dd>{bytes(job.process?.rssBytes)}</dd>
        </div>
        <div className={styles.stat}>
          <dt>Restarts</dt>
          <dd>{fmt(job.restarts)}</dd>
        </div>
      </dl>
      {job.renditions.length > 0 ? (
        <table className={styles.table} data-testid="renditions">
          <thead>
            <tr>
              <th>Rendition</th>
              <th>Size</th>
              <th>Target bitrate</th>
              <th>Measured bitrate</th>
              <th>fps</th>
              <th>Speed</th>
            </tr>
          </thead>
          <tbody>
            {job.renditions.map((r) => (
              <tr key={r.id} data-testid={`rendition-${r.id}`}>
                <td>{r.id}</td>
                <td>{r.width && r.height ? `${r.width}×${r.height}` : dash}</td>
                <td>{kbps(r.targetKbps)}</td>
                <td data-testid="rendition-bitrate" data-raw={r.bitrateKbps ?? undefined}>
                  {kbps(r.bitrateKbps)}
                </td>
                {/* One ffmpeg encodes every rung in lockstep: its fps and speed are the job's unless reported per rung. */}
                <td>{fmt(r.fps ?? job.overall.fps, 1)}</td>
                <td>{fmt(r.speed ?? job.overall.speed, 2, '×')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className={styles.chartRow}>
        <Chart title="Encoder speed (1× = real time)" now={now} series={speedSeries} testId="chart-speed" />
        {renditionSeries.length > 0 ? <Chart title="Output bitrate per rendition" now={now} series={renditionSeries} testId="chart-renditions" /> : null}
        <Chart title="ffmpeg CPU (100 % = one core)" now={now} series={cpuSeries} />
      </div>
      <LogViewer stream={job.stream} />
    </article>
  );
}

function ProfileSwitch({ stream, current, profiles }: { stream: string; current: string | null; profiles: ProfileDoc[] | null }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <div className={styles.field}>
      <span className={styles.fieldLabel}>Profile</span>
      <select
        className={styles.input}
        value={current ?? ''}
        disabled={busy || !profiles}
        data-testid="job-profile"
        onChange={async (e) => {
          setBusy(true);
          setError(null);
          try {
            await api(`/jobs/${encodeURIComponent(stream)}/profile`, { method: 'PUT', body: { profile: e.target.value } });
          } catch (err) {
            setError(err instanceof DashboardApiError ? err.message : String(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        {current && !profiles?.some((p) => p.name === current) ? <option value={current}>{current}</option> : null}
        {(profiles ?? []).map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}
            {p.mode === 'passthrough' ? ' (passthrough)' : ` (${p.rungs.map((r) => r.name).join(' / ')})`}
          </option>
        ))}
      </select>
      <span className={styles.hint}>Switching restarts the job with the new ladder.</span>
      {error ? (
        <span className={styles.formError} role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

const ERROR_LINE = /\b(error|fatal|failed|invalid|unable|cannot|could not|no such|denied|corrupt|non-monotonous)\b/i;
const WARN_LINE = /\b(warning|deprecated|late|drop|past duration|max delay)\b/i;

function LogViewer({ stream }: { stream: string }) {
  const [open, setOpen] = useState(false);
  const [lines, setLines] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const pre = useRef<HTMLPreElement>(null);
  // Follow the end of the log, unless the operator scrolled up to read.
  const follow = useRef(true);
  useEffect(() => {
    const el = pre.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  useEffect(() => {
    if (!open) return;
    let stopped = false;
    const load = async () => {
      try {
        const body = await api<{ lines: string[] }>(`/jobs/${encodeURIComponent(stream)}/logs`);
        if (!stopped) {
          setLines(body.lines.slice(-200));
          setError(null);
        }
      } catch (e) {
        if (!stopped) setError(e instanceof Error ? e.message : String(e));
      }
    };
    void load();
    const timer = setInterval(load, 2_000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [open, stream]);
  return (
    <details className={styles.details} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)} data-testid="job-log">
      <summary>ffmpeg log (last lines)</summary>
      {error ? <p className={styles.formError}>{error}</p> : null}
      {lines === null ? (
        <p className={styles.muted}>Loading…</p>
      ) : lines.length === 0 ? (
        <p className={styles.muted}>ffmpeg has not written anything yet.</p>
      ) : (
        <pre
          className={styles.log}
          ref={pre}
          onScroll={(e) => {
            const el = e.currentTarget;
            follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }}
        >
          {lines.map((line, i) => (
            <span key={i} className={ERROR_LINE.test(line) ? styles.logError : WARN_LINE.test(line) ? styles.logWarn : undefined}>
              {line}
              {'\n'}
            </span>
          ))}
        </pre>
      )}
    </details>
  );
}
