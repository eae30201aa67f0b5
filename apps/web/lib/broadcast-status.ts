/** What the broadcaster page shows, whichever way it publishes (WHIP or WebTransport). */
import type { OutboundSummary } from '@onair/shared/webrtc-client-stats';

export type BroadcastState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'error';

export interface BroadcastStatus {
  state: BroadcastState;
  detail: string | null;
  /** Stable code of the last error (`invalid_stream_key`, …), for the UI and tests. */
  code: string | null;
}

/** The outgoing figures the page shows. */
export type BroadcastFigures = Pick<OutboundSummary, 'width' | 'height' | 'fps' | 'videoCodec' | 'audioCodec' | 'videoKbps' | 'audioKbps' | 'qualityLimitation' | 'rttMs' | 'encoder'>;

/** How the page publishes: `?transport=` and the page's choice. */
export type BroadcastTransport = 'whip' | 'webtransport';

/** A running broadcast, whichever way it publishes. */
export interface Broadcast {
  readonly state: BroadcastState;
  start(): void;
  stop(): Promise<void>;
  replaceStream(stream: MediaStream): Promise<void>;
}

export function parseTransport(value: string | null): BroadcastTransport | undefined {
  return value === 'whip' || value === 'webtransport' ? value : undefined;
}
