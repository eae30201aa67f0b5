/** The player's "what is playing" line (pure, locale-independent). */
import type { WhepLayers } from '@onair/shared/api';
import { formatBitrate, resolutionLabel } from './format';
import type { PlaybackModeKind } from './playback';

/** An HLS rendition as hls.js describes it (`hls.levels[i]`): pixels and peak bits per second. */
export interface RenditionInfo {
  width?: number | null;
  height?: number | null;
  /** bits per second */
  bitrate?: number | null;
}

/** `480p · 1.2 Mbps`; `480p` or `1.2 Mbps` when only one is known; null when nothing is. */
export function renditionLabel(level: RenditionInfo | null | undefined): string | null {
  if (!level) return null;
  const size = resolutionLabel(level.width, level.height);
  const rate = level.bitrate && level.bitrate > 0 ? formatBitrate(level.bitrate / 1000) : null;
  return [size, rate].filter(Boolean).join(' · ') || null;
}

/** A WebRTC rendition by its picture: `360p`, `source 720p` (the publisher's own), its name when the size is unknown. */
export function layerLabel(layer: { encodingId: string; kind: string; width: number | null; height: number | null }): string {
  const size = resolutionLabel(layer.width, layer.height);
  if (layer.kind === 'source') return size ? `source ${size}` : 'source';
  return size ?? layer.encodingId;
}

/** What a WHEP session receives: `360p`, `source 720p`; null when the server lists no renditions. */
export function activeLayerLabel(layers: WhepLayers | null): string | null {
  if (!layers) return null;
  const active = layers.layers.find((layer) => layer.encodingId === layers.active);
  return active ? layerLabel(active) : layers.active;
}

/** `WebRTC`, `WebRTC · 360p`, `HLS · 480p · 1.2 Mbps`, `HLS (native)`. */
export function modeLabel(mode: PlaybackModeKind, rendition: string | null, native = false): string {
  if (mode === 'webrtc') return rendition ? `WebRTC · ${rendition}` : 'WebRTC';
  if (native) return 'HLS (native)';
  return rendition ? `HLS · ${rendition}` : 'HLS';
}

/** `latency 1.4 s` from seconds; null when unknown. */
export function latencyLabel(seconds: number | null | undefined): string | null {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return null;
  return `latency ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
}
