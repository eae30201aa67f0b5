'use client';
/**
 * Ladder editor: pick a profile, edit its rungs (add, remove, reorder; size, fps, bitrate,
 * preset), save. The transcoder validates; its problem+json detail and issues are shown as they
 * come. Saving a profile a live stream uses restarts that stream's job, and the multivariant
 * playlist (shown alongside) follows the new ladder.
 */
import { useEffect, useState } from 'react';
import { api, DashboardApiError } from './api';
import styles from './dashboard.module.css';
import { useLiveData } from './live-data';
import { Notice } from './notice';
import { useProfiles } from './transcoder-panel';
import type { ProfileDoc, RungDoc } from './types';

const PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'];

const blankRung = (): RungDoc => ({ name: '240p', width: 426, height: 240, maxFps: 30, videoKbps: 400, preset: 'veryfast' });

function editable(profile: ProfileDoc): ProfileDoc {
  const { builtin: _builtin, ...rest } = profile;
  return structuredClone({ ...rest, rungs: rest.rungs ?? [] });
}

export function ProfilesEditor() {
  const { profiles, error: loadError, reload } = useProfiles();
  const [selected, setSelected] = useState<string | null>(null);
  const [draft, setDraft] = useState<ProfileDoc | null>(null);
  const [isNew, setIsNew] = useState(false);
  const [problem, setProblem] = useState<{ detail: string; issues: string[] } | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!profiles || draft) return;
    const first = profiles.find((p) => !p.builtin) ?? profiles[0];
    if (first) {
      setSelected(first.name);
      setDraft(first.builtin ? { ...editable(first), name: `${first.name}-copy` } : editable(first));
    }
  }, [profiles, draft]);

  if (loadError && !profiles) {
    return (
      <section className={styles.section}>
        <header className={styles.sectionHeader}>
          <h1>Profiles</h1>
        </header>
        <Notice tone="error" title="Cannot load profiles from the transcoder" testId="profiles-problem">
          <p>{loadError}</p>
        </Notice>
      </section>
    );
  }
  const current = profiles?.find((p) => p.name === selected);
  /** The transcoder's issues are `path: message` (`rungs.1.height: height must be even …`): mark those fields. */
  const issueAt = (path: string): string | undefined => problem?.issues.find((issue) => issue.startsWith(`${path}: `))?.slice(path.length + 2);
  const cell = (path: string) => {
    const issue = issueAt(path);
    return issue ? { className: `${styles.inputCell} ${styles.inputInvalid}`, title: issue, 'aria-invalid': true as const } : { className: styles.inputCell };
  };
  const builtin = !isNew && current?.builtin === true;

  const pick = (profile: ProfileDoc) => {
    setSelected(profile.name);
    // A built-in profile is saved as a copy: suggest a free name for it.
    setDraft(profile.builtin ? { ...editable(profile), name: `${profile.name}-copy` } : editable(profile));
    setIsNew(false);
    setProblem(null);
    setSaved(null);
  };
  const update = (change: Partial<ProfileDoc>) => draft && setDraft({ ...draft, ...change });
  const updateRung = (index: number, change: Partial<RungDoc>) => draft && setDraft({ ...draft, rungs: draft.rungs.map((r, i) => (i === index ? { ...r, ...change } : r)) });
  const move = (index: number, by: number) => {
    if (!draft) return;
    const rungs = draft.rungs.slice();
    const [rung] = rungs.splice(index, 1);
    rungs.splice(index + by, 0, rung!);
    setDraft({ ...draft, rungs });
  };
  const save = async () => {
    if (!draft) return;
    setBusy(true);
    setProblem(null);
    setSaved(null);
    try {
      if (isNew || builtin) {
        await api('/profiles', { method: 'POST', body: draft });
        setSaved(`Created “${draft.name}”. Choose it for a stream on the Transcoder page.`);
      } else {
        const result = await api<{ restarted?: string[] }>(`/profiles/${encodeURIComponent(draft.name)}`, { method: 'PUT', body: draft });
        const restarted = result.restarted ?? [];
        setSaved(`Saved “${draft.name}”.${restarted.length > 0 ? ` Restarted with the new ladder: ${restarted.join(', ')}.` : ' No live stream uses it right now.'}`);
      }
      setSelected(draft.name);
      setIsNew(false);
      reload();
    } catch (e) {
      setProblem(e instanceof DashboardApiError ? { detail: e.message, issues: e.issues } : { detail: String(e), issues: [] });
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!draft || !window.confirm(`Delete profile “${draft.name}”?`)) return;
    try {
      await api(`/profiles/${encodeURIComponent(draft.name)}`, { method: 'DELETE' });
      setDraft(null);
      setSelected(null);
      reload();
    } catch (e) {
      setProblem(e instanceof DashboardApiError ? { detail: e.message, issues: e.issues } : { detail: String(e), issues: [] });
    }
  };

  return (
    <section className={styles.section}>
      <header className={styles.sectionHeader}>
        <h1>Profiles</h1>
        <span className={styles.muted}>ABR ladders the transcoder encodes</span>
      </header>
      <div className={styles.split}>
        <nav className={styles.profileList} aria-label="Profiles">
          {(profiles ?? []).map((p) => (
            <button key={p.name} className={p.name === selected && !isNew ? styles.profileActive : styles.profileItem} onClick={() => pick(p)} data-testid={`profile-${p.name}`}>
              <strong>{p.name}</strong>
              <span className={styles.muted}>{p.builtin ? 'built-in' : `${p.rungs.length} rung${p.rungs.length === 1 ? '' : 's'}`}</span>
            </button>
          ))}
          <button
            className={styles.button}
            data-testid="new-profile"
            onClick={() => {
              setDraft({ name: 'custom', description: '', mode: 'transcode', audioKbps: 128, gopSeconds: 1, rungs: [{ name: '720p', width: 1280, height: 720, maxFps: 30, videoKbps: 2800, preset: 'veryfast' }] });
              setIsNew(true);
              setSelected(null);
              setProblem(null);
              setSaved(null);
            }}
          >
            New profile
          </button>
        </nav>
        {draft ? (
          <div className={styles.editor} data-testid="profile-editor">
            {builtin ? (
              <Notice title={`“${draft.name}” is built in`}>
                <p>Built-in profiles cannot be changed. Edit it and save it under another name.</p>
              </Notice>
            ) : null}
            <div className={styles.formGrid}>
              <label>
                Name
                <input className={styles.input} value={draft.name} disabled={!isNew && !builtin} onChange={(e) => update({ name: e.target.value })} data-testid="profile-name" />
              </label>
              <label>
                Mode
                <select className={styles.input} value={draft.mode} onChange={(e) => update({ mode: e.target.value as ProfileDoc['mode'] })}>
                  <option value="transcode">transcode (encode every rung)</option>
                  <option value="passthrough">passthrough (copy source video)</option>
                </select>
              </label>
              <label>
                Audio (kbit/s, AAC)
                <input className={styles.input} type="number" value={draft.audioKbps} onChange={(e) => update({ audioKbps: Number(e.target.value) })} />
              </label>
              <label>
                Keyframe interval (s)
                <input className={styles.input} type="number" step="0.5" value={draft.gopSeconds} onChange={(e) => update({ gopSeconds: Number(e.target.value) })} />
              </label>
              <label className={styles.wide}>
                Description
                <input className={styles.input} value={draft.description ?? ''} onChange={(e) => update({ description: e.target.value })} />
              </label>
            </div>
            <table className={styles.table} data-testid="rungs">
              <thead>
                <tr>
                  <th>Rung</th>
                  <th>Width</th>
                  <th>Height</th>
                  <th>Max fps</th>
                  <th>Video kbit/s</th>
                  <th>x264 preset</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {draft.rungs.map((rung, i) => (
                  <tr key={i} data-testid={`rung-${i}`}>
                    <td>
                      <input {...cell(`rungs.${i}.name`)} value={rung.name} onChange={(e) => updateRung(i, { name: e.target.value })} aria-label="Rung name" />
                    </td>
                    <td>
                      <input {...cell(`rungs.${i}.width`)} type="number" value={rung.width} onChange={(e) => updateRung(i, { width: Number(e.target.value) })} aria-label="Width" />
                    </td>
                    <td>
                      <input {...cell(`rungs.${i}.height`)} type="number" value={rung.height} onChange={(e) => updateRung(i, { height: Number(e.target.value) })} aria-label="Height" />
                    </td>
                    <td>
                      <input {...cell(`rungs.${i}.maxFps`)} type="number" value={rung.maxFps} onChange={(e) => updateRung(i, { maxFps: Number(e.target.value) })} aria-label="Max fps" />
                    </td>
                    <td>
                      <input {...cell(`rungs.${i}.videoKbps`)} type="number" value={rung.videoKbps} onChange={(e) => updateRung(i, { videoKbps: Number(e.target.value) })} aria-label="Video kbit/s" />
                    </td>
                    <td>
                      <select className={`${styles.inputCell} ${styles.selectCell}`} value={rung.preset} onChange={(e) => updateRung(i, { preset: e.target.value })} aria-label="Preset">
                        {PRESETS.map((p) => (
                          <option key={p}>{p}</option>
                        ))}
                      </select>
                    </td>
                    <td className={styles.rowActions}>
                      <button className={styles.buttonIcon} disabled={i === 0} onClick={() => move(i, -1)} aria-label="Move up">
                        ↑
                      </button>
                      <button className={styles.buttonIcon} disabled={i === draft.rungs.length - 1} onClick={() => move(i, 1)} aria-label="Move down">
                        ↓
                      </button>
                      <button className={styles.buttonIcon} onClick={() => update({ rungs: draft.rungs.filter((_, j) => j !== i) })} aria-label="Remove rung" data-testid="remove-rung">
                        ✕
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div className={styles.actions}>
              <button className={styles.buttonSmall} onClick={() => update({ rungs: [...draft.rungs, blankRung()] })} data-testid="add-rung">
                Add rung
              </button>
              <span className={styles.spacer} />
              {!isNew && !builtin ? (
                <button className={styles.buttonDanger} onClick={remove}>
                  Delete profile
                </button>
              ) : null}
              <button className={styles.button} onClick={save} disabled={busy} data-testid="save-profile">
                {isNew ? 'Create profile' : builtin ? 'Save as new profile' : 'Save'}
              </button>
            </div>
            {problem ? (
              <Notice tone="error" title="The transcoder did not accept this profile" testId="profile-problem">
                {problem.issues.length > 0 ? (
                  <ul>
                    {problem.issues.map((issue) => (
                      <li key={issue}>{readableIssue(issue, draft)}</li>
                    ))}
                  </ul>
                ) : (
                  <p>{problem.detail}</p>
                )}
              </Notice>
            ) : null}
            {saved ? (
              <p className={styles.ok} role="status" data-testid="profile-saved">
                {saved}
              </p>
            ) : null}
          </div>
        ) : (
          <p className={styles.muted}>Loading profiles…</p>
        )}
      </div>
      <PlaylistPreview />
    </section>
  );
}

/** `rungs.0.height: height must be even` → `Rung 1 (180p): height must be even`. */
function readableIssue(issue: string, draft: ProfileDoc): string {
  const match = /^rungs\.(\d+)(?:\.\w+)?: (.*)$/.exec(issue);
  if (!match) return issue;
  const index = Number(match[1]);
  const name = draft.rungs[index]?.name;
  return `Rung ${index + 1}${name ? ` (${name})` : ''}: ${match[2]}`;
}

/** The multivariant playlist of a live stream, as the HLS origin serves it now. */
function PlaylistPreview() {
  const { snapshot } = useLiveData();
  const live = snapshot?.ingest.ok ? snapshot.ingest.data.filter((s) => s.state.live).map((s) => s.name) : [];
  const [stream, setStream] = useState<string>('');
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const chosen = stream || live[0] || '';
  useEffect(() => {
    if (!chosen) return;
    let stopped = false;
    const load = () =>
      api<string>(`/hls/${encodeURIComponent(chosen)}`)
        .then((body) => {
          if (!stopped) {
            setText(body);
            setError(null);
          }
        })
        .catch((e: unknown) => !stopped && setError(e instanceof Error ? e.message : String(e)));
    void load();
    const timer = setInterval(load, 2_000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [chosen]);
  if (live.length === 0) return null;
  return (
    <div className={styles.card}>
      <div className={styles.field}>
        <span className={styles.fieldLabel}>HLS master playlist of</span>
        <select className={styles.input} value={chosen} onChange={(e) => setStream(e.target.value)}>
          {live.map((name) => (
            <option key={name}>{name}</option>
          ))}
        </select>
      </div>
      {error ? <p className={styles.muted}>{error}</p> : null}
      {text ? (
        <pre className={styles.log} data-testid="master-playlist">
          {text}
        </pre>
      ) : null}
    </div>
  );
}
