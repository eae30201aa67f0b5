'use client';

/**
 * The browser broadcaster: choose camera / screen / microphone, preview, stream key, go live
 * over WHIP (through the web origin's /whip) or WebTransport (Media over QUIC, WebCodecs; it
 * falls back to WHIP by itself when QUIC cannot be used and says why), outgoing figures, stop.
 * URL: `?key=` prefills the key, and the page says which stream it goes live on (looked up by the
 * server, `target`) with its watch link; `?transport=whip|webtransport` picks the way in. Going
 * live always takes a click on Go live: a link that started the camera streaming by itself
 * (`?autostart=1`, now ignored) let anyone who could send someone a link put their camera on air.
 */
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { formatBitrate, formatDuration, formatFps, formatMs, formatResolution } from '../lib/format';
import { acquireMedia, describeMediaError, listDevices, stopTracks, type DeviceLists, type SourceChoice, type VideoSource } from '../lib/media-sources';
import { parseTransport, type Broadcast, type BroadcastFigures, type BroadcastStatus, type BroadcastTransport } from '../lib/broadcast-status';
import { MoqBroadcast } from '../lib/moq/moq-broadcast';
import type { KeyTarget } from '../lib/server/stream-for-key';
import { WhipBroadcast } from '../lib/whip-broadcast';

const KEY_STORAGE = 'onair.streamKey';
/** The way in when the page is not told (`?transport=`); see README "Go live over WebTransport". */
const DEFAULT_TRANSPORT: BroadcastTransport = 'whip';

const STATE_LABEL: Record<BroadcastStatus['state'], string> = {
  idle: 'Offline',
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  error: 'Error',
};

export interface BroadcasterProps {
  /** The key the page's link carried (`?key=`), if any. */
  linkKey?: string | null;
  /** Which stream `linkKey` goes live on, as the server found it; null without a key in the link. */
  target?: KeyTarget | null;
}

export function Broadcaster({ linkKey = null, target = null }: BroadcasterProps) {
  const previewRef = useRef<HTMLVideoElement>(null);
  const mediaRef = useRef<MediaStream | null>(null);
  const broadcastRef = useRef<Broadcast | null>(null);
  const choiceRef = useRef<SourceChoice>({ video: 'camera', cameraId: '', micId: '' });

  const [choice, setChoice] = useState<SourceChoice>(choiceRef.current);
  const [devices, setDevices] = useState<DeviceLists>({ cameras: [], mics: [] });
  const [media, setMedia] = useState<MediaStream | null>(null);
  const [mediaError, setMediaError] = useState<string | null>(null);
  const [acquiring, setAcquiring] = useState(true);
  const [streamKey, setStreamKey] = useState('');
  const [showKey, setShowKey] = useState(false);
  const [remember, setRemember] = useState(false);
  const [status, setStatus] = useState<BroadcastStatus>({ state: 'idle', detail: null, code: null });
  const [stats, setStats] = useState<BroadcastFigures | null>(null);
  const [transport, setTransport] = useState<BroadcastTransport>(DEFAULT_TRANSPORT);
  /** The way in actually used, and why WebTransport was left (null while none is running). */
  const [sending, setSending] = useState<{ transport: BroadcastTransport; fallback: string | null } | null>(null);
  const transportRef = useRef<BroadcastTransport>(DEFAULT_TRANSPORT);
  // Simulcast over WHIP: three layers the server serves as renditions without transcoding.
  const [simulcast, setSimulcast] = useState(false);
  const simulcastRef = useRef(false);
  const [liveSince, setLiveSince] = useState<number | null>(null);
  const [now, setNow] = useState(0);
  const [origin, setOrigin] = useState('');

  const active = status.state === 'connecting' || status.state === 'live' || status.state === 'reconnecting';

  /** Opens `next` sources, swaps them into the preview and (if live) the broadcast, closes the old ones. */
  const switchMedia = useCallback(async (next: SourceChoice): Promise<MediaStream | null> => {
    setAcquiring(true);
    setMediaError(null);
    try {
      const stream = await acquireMedia(next);
      const previous = mediaRef.current;
      mediaRef.current = stream;
      choiceRef.current = next;
      setChoice(next);
      setMedia(stream);
      if (previewRef.current) previewRef.current.srcObject = stream;
      await broadcastRef.current?.replaceStream(stream);
      if (previous !== stream) stopTracks(previous);
      // The user ending a screen share from the browser's own UI: go back to the camera.
      stream.getVideoTracks()[0]?.addEventListener('ended', () => {
        if (mediaRef.current === stream && choiceRef.current.video === 'screen') void switchMedia({ ...choiceRef.current, video: 'camera' });
      });
      setDevices(await listDevices());
      return stream;
    } catch (error) {
      setMediaError(describeMediaError(error));
      return null;
    } finally {
      setAcquiring(false);
    }
  }, []);

  const goLive = useCallback(
    (key: string) => {
      const stream = mediaRef.current;
      if (!stream || broadcastRef.current) return;
      const trimmed = key.trim();
      if (!trimmed) {
        setStatus({ state: 'error', detail: 'Enter your stream key.', code: 'missing_credentials' });
        return;
      }
      setStats(null);
      const onStatus = (broadcast: Broadcast) => (next: BroadcastStatus) => {
        if (broadcastRef.current !== broadcast) return;
        setStatus(next);
        if (next.state === 'live') setLiveSince((since) => since ?? Date.now());
        if (next.state === 'error' || next.state === 'idle') {
          broadcastRef.current = null;
          setSending(null);
          setLiveSince(null);
          setStats(null);
        }
      };
      const startWhip = (fallback: string | null) => {
        const current = mediaRef.current ?? stream;
        const whip: WhipBroadcast = new WhipBroadcast({ whipUrl: '/whip', streamKey: trimmed, stream: current, simulcast: simulcastRef.current, onStatus: (next) => onStatus(whip)(next), onStats: setStats });
        broadcastRef.current = whip;
        setSending({ transport: 'whip', fallback });
        whip.start();
      };
      if (transportRef.current === 'whip') return startWhip(null);
      const moq: MoqBroadcast = new MoqBroadcast({
        discoveryUrl: '/api/webtransport',
        streamKey: trimmed,
        stream,
        onStatus: (next) => onStatus(moq)(next),
        onStats: setStats,
        onFallback: (reason) => {
          if (broadcastRef.current !== moq) return;
          startWhip(`WebTransport was not used: ${reason}. Publishing over WHIP (WebRTC) instead.`);
        },
      });
      broadcastRef.current = moq;
      setSending({ transport: 'webtransport', fallback: null });
      moq.start();
    },
    [],
  );

  const stop = useCallback(async () => {
    const broadcast = broadcastRef.current;
    broadcastRef.current = null;
    setSending(null);
    setLiveSince(null);
    setStats(null);
    await broadcast?.stop();
    setStatus({ state: 'idle', detail: null, code: null });
  }, []);

  // First visit: the link's key or a remembered one, open the default camera and microphone (a
  // preview only: nothing leaves the browser until Go live is pressed).
  useEffect(() => {
    let stored: string | null = null;
    try {
      stored = window.localStorage.getItem(KEY_STORAGE);
    } catch {
      // storage disabled
    }
    setStreamKey(linkKey ?? stored ?? '');
    setRemember(stored !== null);
    const chosen = parseTransport(new URLSearchParams(window.location.search).get('transport'));
    if (chosen) {
      transportRef.current = chosen;
      setTransport(chosen);
    }
    setOrigin(window.location.origin);
    void switchMedia(choiceRef.current);
    const onDeviceChange = () => void listDevices().then(setDevices);
    navigator.mediaDevices?.addEventListener?.('devicechange', onDeviceChange);
    const onPageHide = () => void broadcastRef.current?.stop();
    window.addEventListener('pagehide', onPageHide);
    return () => {
      navigator.mediaDevices?.removeEventListener?.('devicechange', onDeviceChange);
      window.removeEventListener('pagehide', onPageHide);
      void broadcastRef.current?.stop();
      broadcastRef.current = null;
      stopTracks(mediaRef.current);
      mediaRef.current = null;
    };
  }, [switchMedia, linkKey]);

  // Closing the tab ends the broadcast: ask first while on air.
  useEffect(() => {
    if (!active) return;
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = '';
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [active]);

  useEffect(() => {
    if (liveSince === null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [liveSince]);

  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    if (active) return;
    try {
      if (remember) window.localStorage.setItem(KEY_STORAGE, streamKey.trim());
      else window.localStorage.removeItem(KEY_STORAGE);
    } catch {
      // storage disabled: nothing to remember
    }
    goLive(streamKey);
  };

  const pickVideo = (video: VideoSource) => void switchMedia({ ...choiceRef.current, video });
  const pickTransport = (next: BroadcastTransport) => {
    transportRef.current = next;
    setTransport(next);
  };
  const hasVideo = (media?.getVideoTracks().length ?? 0) > 0;
  const badgeClass = status.state === 'live' ? 'badge badge--live' : status.state === 'error' ? 'badge badge--error' : status.state === 'idle' ? 'badge badge--muted' : 'badge badge--warn';
  // What the server found applies to the link's key only, not to one typed over it.
  const shownTarget = target && linkKey !== null && streamKey.trim() === linkKey.trim() ? target : null;
  const streamName = shownTarget?.status === 'found' ? shownTarget.stream : null;
  const watchPath = streamName ? `/watch/${encodeURIComponent(streamName)}` : null;

  return (
    <div className="studio" data-testid="broadcaster" data-state={status.state} data-transport={sending?.transport ?? ''} data-fallback={sending?.fallback ? 'whip' : ''}>
      <div>
        <div className="player">
          <video ref={previewRef} className="player__video" data-testid="preview" autoPlay muted playsInline style={{ transform: choice.video === 'camera' ? 'scaleX(-1)' : undefined }} />
          {!hasVideo && (
            <div className="preview-empty">
              {acquiring ? <div className="spinner" aria-hidden="true" /> : <p>{mediaError ?? (media ? 'Audio only — no video source.' : 'No source open.')}</p>}
            </div>
          )}
          <div className="player__top">
            <span className={badgeClass} data-testid="broadcast-state">
              {STATE_LABEL[status.state]}
            </span>
            {liveSince !== null && status.state === 'live' && <span className="badge">{formatDuration(now - liveSince)}</span>}
          </div>
        </div>
        <div className="studio__figures" data-testid="outgoing-stats">
          <Figure label="Resolution" value={formatResolution(stats?.width, stats?.height)} testId="out-resolution" />
          <Figure label="Frame rate" value={formatFps(stats?.fps)} testId="out-fps" />
          <Figure label="Video" value={formatBitrate(stats?.videoKbps)} testId="out-video-bitrate" />
          <Figure label="Audio" value={formatBitrate(stats?.audioKbps)} testId="out-audio-bitrate" />
        </div>
        {stats && (
          <p className="help">
            {[stats.videoCodec && `codec ${stats.videoCodec}${stats.audioCodec ? ` / ${stats.audioCodec}` : ''}`, stats.encoder && `encoder ${stats.encoder}`, stats.rttMs !== null && `rtt ${formatMs(stats.rttMs)}`, stats.qualityLimitation && stats.qualityLimitation !== 'none' && `limited by ${stats.qualityLimitation}`]
              .filter(Boolean)
              .join(' · ')}
          </p>
        )}
      </div>

      <form className="studio__panel" onSubmit={onSubmit} aria-label="Broadcast settings">
        <div className="studio__status">
          <span className={badgeClass}>{STATE_LABEL[status.state]}</span>
          <span className="help" style={{ margin: 0 }}>
            {status.state === 'idle' ? 'Not broadcasting' : status.state === 'live' ? 'You are live' : status.state === 'error' ? 'Could not go live' : 'Working…'}
          </span>
        </div>

        {status.detail && (
          <div className={`notice${status.state === 'error' ? ' notice--error' : ''}`} role="alert" data-testid="broadcast-error" data-code={status.code ?? ''}>
            {status.detail}
          </div>
        )}
        {sending?.fallback && (
          <div className="notice" role="status" data-testid="transport-fallback">
            {sending.fallback}
          </div>
        )}
        {mediaError && (
          <div className="notice notice--error" role="alert" data-testid="media-error">
            {mediaError}
          </div>
        )}

        <div className="field">
          <span className="field__label">Video</span>
          <div className="segmented" role="group" aria-label="Video source">
            {(['camera', 'screen', 'none'] as const).map((v) => (
              <button key={v} type="button" className="segmented__option" aria-pressed={choice.video === v} onClick={() => pickVideo(v)} disabled={acquiring} data-testid={`source-${v}`}>
                {v === 'camera' ? 'Camera' : v === 'screen' ? 'Screen' : 'None'}
              </button>
            ))}
          </div>
        </div>

        <div className="field">
          <span className="field__label">Send over</span>
          <div className="segmented" role="group" aria-label="Way in">
            {(['whip', 'webtransport'] as const).map((t) => (
              <button key={t} type="button" className="segmented__option" aria-pressed={transport === t} onClick={() => pickTransport(t)} disabled={active} data-testid={`transport-${t}`}>
                {t === 'whip' ? 'WebRTC (WHIP)' : 'WebTransport (QUIC)'}
              </button>
            ))}
          </div>
        </div>

        {choice.video === 'camera' && (
          <label className="field">
            <span className="field__label">Camera</span>
            <select className="select" value={choice.cameraId} onChange={(e) => void switchMedia({ ...choiceRef.current, cameraId: e.target.value })} disabled={acquiring} data-testid="camera-select">
              <option value="">Default camera</option>
              {devices.cameras.map((d, i) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {d.label || `Camera ${i + 1}`}
                </option>
              ))}
            </select>
          </label>
        )}

        <label className="field">
          <span className="field__label">Microphone</span>
          <select className="select" value={choice.micId} onChange={(e) => void switchMedia({ ...choiceRef.current, micId: e.target.value })} disabled={acquiring || (active && choice.micId === 'none')} data-testid="mic-select">
            <option value="">Default microphone</option>
            {devices.mics.map((d, i) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label || `Microphone ${i + 1}`}
              </option>
            ))}
            <option value="none">No microphone</option>
          </select>
        </label>

        <label className="field">
          <span className="field__label">Stream key</span>
          <div className="field__row">
            <input
              className="input"
              type={showKey ? 'text' : 'password'}
              value={streamKey}
              onChange={(e) => setStreamKey(e.target.value)}
              placeholder="Paste your stream key"
              autoComplete="off"
              spellCheck={false}
              disabled={active}
              data-testid="stream-key"
            />
            <button type="button" className="btn" onClick={() => setShowKey((v) => !v)} aria-pressed={showKey}>
              {showKey ? 'Hide' : 'Show'}
            </button>
          </div>
        </label>
        {transport === 'whip' && (
          <label className="checkbox">
            <input
              type="checkbox"
              checked={simulcast}
              disabled={active}
              onChange={(e) => {
                simulcastRef.current = e.target.checked;
                setSimulcast(e.target.checked);
              }}
              data-testid="simulcast"
            />
            Simulcast: also send half and quarter size, so slow viewers get a smaller picture without a transcoder
          </label>
        )}
        <label className="checkbox" style={{ marginBottom: 16 }}>
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} data-testid="remember-key" />
          Remember the key on this device
        </label>

        {shownTarget && (
          <p className={`notice${shownTarget.status === 'unknown' ? ' notice--error' : ''}`} data-testid="broadcast-target" data-stream={streamName ?? ''}>
            {shownTarget.status === 'found' ? (
              <>
                This key goes live on stream <strong>{shownTarget.stream}</strong>. Nothing is sent until you press Go live.
              </>
            ) : shownTarget.status === 'unknown' ? (
              'This key does not match any stream: check the link you were given.'
            ) : (
              'Could not check which stream this key belongs to (the server is busy or restarting).'
            )}
          </p>
        )}

        <div className="studio__actions">
          {active ? (
            // Distinct keys: React must not reuse this <button> as the submit button below, or the
            // click that stops would, once the type flips to "submit", also submit the form.
            <button key="stop" type="button" className="btn btn--danger btn--block" onClick={(e) => { e.preventDefault(); void stop(); }} data-testid="stop">
              Stop broadcast
            </button>
          ) : (
            <button key="go-live" type="submit" className="btn btn--live btn--block" disabled={!media || acquiring || !streamKey.trim()} data-testid="go-live">
              Go live
            </button>
          )}
        </div>

        {watchPath && (
          <div className="watch-link" data-testid="watch-link">
            Viewers watch at <Link href={watchPath}>{watchPath}</Link>
          </div>
        )}
        <p className="help">
          {transport === 'whip'
            ? 'Sent over WebRTC (WHIP): H.264 preferred, VP8 allowed, Opus audio.'
            : 'Sent over WebTransport (HTTP/3, QUIC) as Media over QUIC: WebCodecs H.264 and Opus, 1 s keyframes; falls back to WHIP where QUIC cannot connect.'}{' '}
          OBS works too: Settings → Stream → WHIP, server <code>{origin}/whip</code>, bearer token = your key.
        </p>
      </form>
    </div>
  );
}

function Figure({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="figure">
      <div className="figure__label">{label}</div>
      <div className="figure__value" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}
