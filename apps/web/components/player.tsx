'use client';

/**
 * The stream player: one playback mode at a time (WebRTC now; HLS slots in as another mode),
 * a visible state (`data-state`: connecting, live, reconnecting, offline, error), mute,
 * fullscreen and a stats overlay. Keyboard: m mute, f fullscreen, s stats.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { InboundSummary } from '@onair/shared/webrtc-client-stats';
import type { PlaybackMode, PlaybackModeKind, PlaybackStatus, PlaybackTiming } from '../lib/playback';
import { startWebrtcPlayback } from '../lib/webrtc-playback';
import { AlertIcon, ExitFullscreenIcon, FullscreenIcon, OfflineIcon, StatsIcon, VolumeOffIcon, VolumeOnIcon } from './icons';
import { StatsOverlay } from './stats-overlay';

export interface PlayerProps {
  stream: string;
  /** Called with every status change (the watch page shows it beside the player). */
  onStatus?(status: PlaybackStatus): void;
}

const STATE_LABEL: Record<PlaybackStatus['state'], string> = {
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  error: 'Error',
};

export function Player({ stream, onStatus }: PlayerProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const [mode] = useState<PlaybackModeKind>('webrtc');
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

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    // Autoplay is only allowed muted; the viewer unmutes with a click.
    video.muted = true;
    setMuted(true);
    let playback: PlaybackMode | null = null;
    if (mode === 'webrtc') {
      playback = startWebrtcPlayback(video, {
        whepUrl: `/whep/${encodeURIComponent(stream)}`,
        liveUrl: '/api/streams/live',
        streamName: stream,
        callbacks: {
          onStatus: (next) => {
            setStatus(next);
            onStatusRef.current?.(next);
          },
          onStats: setStats,
          onTiming: setTiming,
        },
      });
    }
    // Leaving the page (tab closed, navigation away): DELETE the session with a keepalive request.
    const onPageHide = () => playback?.stop();
    // Back/forward cache: the page comes back without a reload, with playback stopped.
    const onPageShow = (event: PageTransitionEvent) => {
      if (event.persisted) setGeneration((g) => g + 1);
    };
    window.addEventListener('pagehide', onPageHide);
    window.addEventListener('pageshow', onPageShow);
    return () => {
      window.removeEventListener('pagehide', onPageHide);
      window.removeEventListener('pageshow', onPageShow);
      playback?.stop();
    };
  }, [stream, mode, generation]);

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
      data-gather-ms={ms(timing?.gatherMs)}
      data-answer-ms={ms(timing?.answerMs)}
      data-connected-ms={ms(timing?.connectedMs)}
      data-first-frame-ms={ms(timing?.firstFrameMs)}
    >
      <video ref={videoRef} className="player__video" data-testid="video" autoPlay muted playsInline onDoubleClick={toggleFullscreen} />

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
          <p className="player__overlay-detail">{detail ?? (state === 'offline' ? 'This page will start playing as soon as the stream goes live.' : ' ')}</p>
        </div>
      )}

      <div className="player__top">
        <span className={badgeClass} data-testid="player-state">
          {STATE_LABEL[state]}
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
