'use client';

/**
 * The stream player: one playback mode at a time (`data-mode`: WebRTC over WHEP first, LL-HLS
 * as the fallback), a visible state (`data-state`: connecting, live, reconnecting, offline,
 * error), what is playing (mode, HLS rendition, latency), a WebRTC / HLS switch, mute,
 * fullscreen and a stats overlay. Keyboard: m mute, f fullscreen, s stats.
 *
 * Mode choice: `auto` starts on WebRTC and moves to HLS when `FallbackPolicy` says WebRTC is not
 * working, then stays on HLS (no flapping). `?mode=hls|webrtc` or a click on the switch pins
 * a mode: no automatic change after that.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { WhepLayers } from '@onair/shared/api';
import type { InboundSummary } from '@onair/shared/webrtc-client-stats';
import { discardEarlyWhep, takeEarlyWhep } from '@onair/shared/whep-early';
import type { PlaybackInfo, PlaybackMode, PlaybackModeKind, PlaybackStatus, PlaybackTiming } from '../lib/playback';
import { canReceiveVideoCodec, videoReceiverCapabilities } from '../lib/codec-support';
import { FALLBACK_REASON_TEXT, FallbackPolicy, type FallbackReason, type ModePreference } from '../lib/playback-fallback';
import { activeLayerLabel, latencyLabel, layerLabel, modeLabel } from '../lib/playback-label';
import { startHlsPlayback } from '../lib/hls-playback';
import { hlsManifestUrl } from '../lib/hls-url';
import { startWebrtcPlayback } from '../lib/webrtc-playback';
import { PLAYER_VIDEO_CLASS, whepPath } from '../lib/early-whep';
import { AlertIcon, ExitFullscreenIcon, FullscreenIcon, OfflineIcon, StatsIcon, VolumeOffIcon, VolumeOnIcon } from './icons';
import { StatsOverlay } from './stats-overlay';

export interface PlayerProps {
  stream: string;
  /** `?mode=`: `hls` or `webrtc` pins that mode; `auto` (default) tries WebRTC, falls back to HLS. */
  preference?: ModePreference;
  /** Base URL of the HLS origin ('' = this site, proxied); see `lib/hls-url.ts`. */
  hlsBase?: string;
  /**
   * The stream's video codec as the public live list reports it (`H264`, `VP8`), when known. A
   * browser that cannot receive it over WebRTC goes straight to HLS (`data-fallback="codec_unsupported"`).
   */
  videoCodec?: string | null;
  /** Called with every status change (the watch page shows it beside the player). */
  onStatus?(status: PlaybackStatus): void;
  /** Called when the delivery changes: `WebRTC`, `HLS · 480p · 1.2 Mbps`, and why HLS if it was a fallback. */
  onDelivery?(label: string, fallbackReason: string | null): void;
}

const STATE_LABEL: Record<PlaybackStatus['state'], string> = {
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  error: 'Error',
};

const NO_INFO: PlaybackInfo = { rendition: null, latencySec: null, native: false };

export function Player({ stream, preference = 'auto', hlsBase = '', videoCodec = null, onStatus, onDelivery }: PlayerProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const [mode, setMode] = useState<PlaybackModeKind>(preference === 'hls' ? 'hls' : 'webrtc');
  /** A mode chosen by the viewer (or the URL): never changed automatically. */
  const [pinned, setPinned] = useState(preference !== 'auto');
  const pinnedRef = useRef(pinned);
  pinnedRef.current = pinned;
  const [fallback, setFallback] = useState<FallbackReason | null>(null);
  const [info, setInfo] = useState<PlaybackInfo>(NO_INFO);
  /** WebRTC: the session's renditions and which one plays (WHEP layer extension). */
  const [layers, setLayers] = useState<WhepLayers | null>(null);
  /** The viewer's rendition choice as last made in the menu ('auto': the server's). */
  const [layerChoice, setLayerChoice] = useState('auto');
  const playbackRef = useRef<PlaybackMode | null>(null);
  const [status, setStatus] = useState<PlaybackStatus>({ state: 'connecting', detail: null });
  const [stats, setStats] = useState<InboundSummary | null>(null);
  const [muted, setMuted] = useState(true);
  const [paused, setPaused] = useState(false);
  const [volume, setVolume] = useState(1);
  const [showStats, setShowStats] = useState(false);
  const [fullscreen, setFullscreen] = useState(false);
  const [timing, setTiming] = useState<PlaybackTiming | null>(null);
  /** Bumped to start playback afresh (page restored from the back/forward cache). */
  const [generation, setGeneration] = useState(0);
  const onStatusRef = useRef(onStatus);
  onStatusRef.current = onStatus;
  const onDeliveryRef = useRef(onDelivery);
  onDeliveryRef.current = onDelivery;
  /** Asks the current WebRTC mode's fallback policy now (null while on HLS or pinned). */
  const checkFallbackRef = useRef<((observe?: (policy: FallbackPolicy) => void) => void) | null>(null);

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    // Autoplay is only allowed muted; the viewer unmutes with a click.
    video.muted = true;
    setMuted(true);
    setInfo(NO_INFO);
    setLayers(null);
    setStats(null);
    setTiming(null);
    // Automatic fallback: only on WebRTC, only while no mode is pinned.
    const policy = mode === 'webrtc' && !pinnedRef.current ? new FallbackPolicy(performance.now()) : null;
    const callbacks = {
      onStatus: (next: PlaybackStatus) => {
        policy?.observe(next.state, performance.now(), next.code);
        setStatus(next);
        onStatusRef.current?.(next);
      },
      onStats: (next: InboundSummary) => {
        // Frames decoding is WebRTC working even before one is rendered (a busy machine).
        policy?.observeFramesDecoded(next.framesDecoded, performance.now());
        setStats(next);
      },
      onTiming: (next: PlaybackTiming) => {
        policy?.observeTransport(next.connectedMs !== null);
        setTiming(next);
      },
      onInfo: setInfo,
      onLayers: setLayers,
    };
    let playback: PlaybackMode | null = null;
    let policyTimer: ReturnType<typeof setInterval> | undefined;
    const webrtcAvailable = typeof RTCPeerConnection === 'function';
    if (mode !== 'webrtc' || !webrtcAvailable) {
      // Not playing over WebRTC: the session the page's inline script may have begun is not needed.
      const early = takeEarlyWhep(whepPath(stream));
      if (early) discardEarlyWhep(early);
    }
    if (mode === 'hls') {
      playback = startHlsPlayback(video, { manifestUrl: hlsManifestUrl(hlsBase, stream), liveUrl: '/api/streams/live', streamName: stream, callbacks });
    } else if (policy && !webrtcAvailable) {
      setFallback('webrtc_unavailable');
      setMode('hls');
    } else {
      playback = startWebrtcPlayback(video, {
        whepUrl: whepPath(stream),
        liveUrl: '/api/streams/live',
        streamName: stream,
        callbacks,
      });
      if (policy) {
        const check = (observe?: (p: FallbackPolicy) => void) => {
          observe?.(policy);
          const reason = policy.decide(performance.now(), webrtcAvailable);
          if (!reason || pinnedRef.current) return;
          clearInterval(policyTimer);
          checkFallbackRef.current = null;
          setFallback(reason);
          setMode('hls');
        };
        checkFallbackRef.current = check;
        policyTimer = setInterval(check, 250);
      }
    }
    playbackRef.current = playback;
    // Leaving the page (tab closed, navigation away): DELETE the session with a keepalive request.
    const onPageHide = () => playback?.stop();
    // Back/forward cache: the page comes back without a reload, with playback stopped.
    const onPageShow = (event: PageTransitionEvent) => {
      if (event.persisted) setGeneration((g) => g + 1);
    };
    window.addEventListener('pagehide', onPageHide);
    window.addEventListener('pageshow', onPageShow);
    return () => {
      clearInterval(policyTimer);
      checkFallbackRef.current = null;
      window.removeEventListener('pagehide', onPageHide);
      window.removeEventListener('pageshow', onPageShow);
      playback?.stop();
      if (playbackRef.current === playback) playbackRef.current = null;
    };
    // `pinned` is read through a ref: pinning the mode that is playing does not restart it.
  }, [stream, mode, generation]);

  // The stream's codec against what this browser can receive over WebRTC: known as soon as the
  // live list answers (in parallel with the first WHEP offer), and again if a new publisher
  // brings another codec.
  useEffect(() => {
    checkFallbackRef.current?.((policy) => policy.observeVideoCodec(canReceiveVideoCodec(videoCodec, videoReceiverCapabilities())));
  }, [videoCodec, mode, generation]);

  const toggleMute = useCallback(() => {
    const video = videoRef.current;
    if (!video) return;
    video.muted = !video.muted;
    if (!video.muted && video.volume === 0) {
      video.volume = 1;
      setVolume(1);
    }
    setMuted(video.muted);
    if (video.paused) video.play().catch(() => undefined);
  }, []);

  const toggleFullscreen = useCallback(() => {
    const el = containerRef.current;
    if (!el) return;
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else void el.requestFullscreen?.().catch(() => undefined);
  }, []);

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    const sync = () => setPaused(video.paused);
    video.addEventListener('play', sync);
    video.addEventListener('pause', sync);
    video.addEventListener('playing', sync);
    video.addEventListener('loadedmetadata', sync);
    return () => {
      video.removeEventListener('loadedmetadata', sync);
      video.removeEventListener('play', sync);
      video.removeEventListener('pause', sync);
      video.removeEventListener('playing', sync);
    };
  }, []);

  /** The viewer's WebRTC / HLS switch: pins the mode (no automatic fallback afterwards). */
  const chooseMode = useCallback((next: PlaybackModeKind) => {
    pinnedRef.current = true;
    setPinned(true);
    setFallback(null);
    setMode(next);
  }, []);

  const delivery = mode === 'webrtc' ? modeLabel(mode, activeLayerLabel(layers)) : modeLabel(mode, info.rendition, info.native);

  /** The rendition menu: Auto (the server chooses from this viewer's link) or one pinned. */
  const chooseLayer = useCallback((choice: string) => {
    setLayerChoice(choice);
    void playbackRef.current?.selectLayer?.(choice === 'auto' ? null : choice).catch(() => undefined);
  }, []);
  useEffect(() => {
    onDeliveryRef.current?.(delivery, fallback ? FALLBACK_REASON_TEXT[fallback] : null);
  }, [delivery, fallback]);

  const play = useCallback(() => {
    videoRef.current?.play().catch(() => undefined);
  }, []);

  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement === containerRef.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (event.metaKey || event.ctrlKey || event.altKey || target?.closest('input, textarea, select')) return;
      if (event.key === 'm') toggleMute();
      else if (event.key === 'f') toggleFullscreen();
      else if (event.key === 's') setShowStats((v) => !v);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [toggleMute, toggleFullscreen]);

  const { state, detail } = status;
  const badgeClass = state === 'live' ? 'badge badge--live' : state === 'error' ? 'badge badge--error' : state === 'offline' ? 'badge badge--muted' : 'badge badge--warn';

  return (
    <div
      ref={containerRef}
      className={`player${state !== 'live' ? ' player--idle-controls' : ''}`}
      data-testid="player"
      data-state={state}
      data-mode={mode}
      data-rendition={mode === 'hls' ? (info.rendition ?? undefined) : (layers?.active ?? undefined)}
      data-rendition-pinned={mode === 'webrtc' ? (layers?.pinned ?? undefined) : undefined}
      data-latency={info.latencySec === null ? undefined : info.latencySec.toFixed(2)}
      data-fallback={fallback ?? undefined}
      data-pinned={pinned ? 'true' : undefined}
      data-gather-ms={ms(timing?.gatherMs)}
      data-answer-ms={ms(timing?.answerMs)}
      data-connected-ms={ms(timing?.connectedMs)}
      data-first-frame-ms={ms(timing?.firstFrameMs)}
    >
      <video ref={videoRef} className={PLAYER_VIDEO_CLASS} data-testid="video" autoPlay muted playsInline onDoubleClick={toggleFullscreen} />

      {state !== 'live' && (
        <div className="player__overlay" data-testid="player-overlay" role="status">
          {state === 'offline' ? (
            <div className="player__offline-icon" aria-hidden="true">
              <OfflineIcon />
            </div>
          ) : state === 'error' ? (
            <div className="player__offline-icon" aria-hidden="true">
              <AlertIcon />
            </div>
          ) : (
            <div className="spinner" aria-hidden="true" />
          )}
          <p className="player__overlay-title">
            {state === 'offline' ? `${stream} is offline` : state === 'connecting' ? 'Connecting…' : state === 'reconnecting' ? 'Reconnecting…' : 'Playback problem'}
          </p>
          {fallback && state !== 'offline' && <p className="player__overlay-detail">{FALLBACK_REASON_TEXT[fallback]}: switched to HLS.</p>}
          <p className="player__overlay-detail">{detail ?? (state === 'offline' ? 'This page will start playing as soon as the stream goes live.' : ' ')}</p>
        </div>
      )}

      <div className="player__top">
        <span className={badgeClass} data-testid="player-state">
          {STATE_LABEL[state]}
        </span>
        <span className="badge badge--mode" data-testid="player-mode" title={fallback ? `${FALLBACK_REASON_TEXT[fallback]}: playing over HLS.` : undefined}>
          {delivery}
          {mode === 'hls' && latencyLabel(info.latencySec) ? ` · ${latencyLabel(info.latencySec)}` : ''}
        </span>
      </div>

      {showStats && <StatsOverlay stats={stats} mode={mode} />}

      {paused && state === 'live' && (
        <button type="button" className="unmute-hint" onClick={play} data-testid="play">
          ▶ Click to play
        </button>
      )}

      {!paused && muted && state === 'live' && (
        <button type="button" className="unmute-hint" onClick={toggleMute} data-testid="unmute">
          <VolumeOffIcon /> Tap to unmute
        </button>
      )}

      <div className="player__controls">
        <button type="button" className="icon-btn" onClick={toggleMute} aria-label={muted ? 'Unmute' : 'Mute'} data-testid="mute" data-muted={muted}>
          {muted ? <VolumeOffIcon /> : <VolumeOnIcon />}
        </button>
        <input
          className="player__volume"
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={muted ? 0 : volume}
          aria-label="Volume"
          data-testid="volume"
          onChange={(e) => {
            const video = videoRef.current;
            if (!video) return;
            const next = Number(e.target.value);
            video.volume = next;
            video.muted = next === 0;
            setVolume(next);
            setMuted(video.muted);
          }}
        />
        <span className="player__spacer" />
        {mode === 'webrtc' && layers && layers.layers.length > 1 && (
          <select
            className="rendition-select"
            aria-label="Rendition"
            data-testid="rendition-select"
            value={layers.layers.some((layer) => layer.encodingId === layerChoice) ? layerChoice : 'auto'}
            onChange={(e) => chooseLayer(e.target.value)}
            title="Auto: the server picks what your connection carries"
          >
            <option value="auto">{layers.pinned === null ? `Auto (${activeLayerLabel(layers)})` : 'Auto'}</option>
            {layers.layers.map((layer) => (
              <option key={layer.encodingId} value={layer.encodingId}>
                {layerLabel(layer)}
              </option>
            ))}
          </select>
        )}
        <div className="mode-switch" role="group" aria-label="Delivery" data-testid="mode-switch">
          {(['webrtc', 'hls'] as const).map((kind) => (
            <button
              key={kind}
              type="button"
              className="mode-switch__option"
              aria-pressed={mode === kind}
              data-testid={`mode-${kind}`}
              onClick={() => chooseMode(kind)}
              title={kind === 'webrtc' ? 'WebRTC: lowest latency' : 'HLS: works behind any firewall'}
            >
              {kind === 'webrtc' ? 'WebRTC' : 'HLS'}
            </button>
          ))}
        </div>
        <button type="button" className="icon-btn" onClick={() => setShowStats((v) => !v)} aria-pressed={showStats} aria-label="Statistics" data-testid="stats-toggle">
          <StatsIcon /> Stats
        </button>
        <button type="button" className="icon-btn" onClick={toggleFullscreen} aria-label={fullscreen ? 'Exit full screen' : 'Full screen'} data-testid="fullscreen">
          {fullscreen ? <ExitFullscreenIcon /> : <FullscreenIcon />}
        </button>
      </div>
    </div>
  );
}

/** Timing milestones as data attributes (read by tests and benches). */
function ms(value: number | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : Math.round(value);
}
