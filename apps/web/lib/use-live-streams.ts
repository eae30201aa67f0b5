'use client';
/**
 * Polls the public live list (`/api/streams/live`, proxied to the ingest) every `intervalMs`,
 * pausing while the tab is hidden and refreshing at once when it comes back. Keeps the last good
 * list when a poll fails, and says so.
 */
// First: zod reads this setting when the schemas below are built.
import './zod-without-eval';
import { useEffect, useState } from 'react';
import { z } from 'zod';
import { publicLiveStreamSchema, type PublicLiveStream } from '@onair/shared/api';

const listSchema = z.array(publicLiveStreamSchema);

export interface LiveStreamsState {
  /** null until the first answer. */
  streams: PublicLiveStream[] | null;
  /** Why the last poll failed, if it did. */
  error: string | null;
}

export function useLiveStreams(intervalMs = 2000): LiveStreamsState {
  const [state, setState] = useState<LiveStreamsState>({ streams: null, error: null });
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | undefined;
    const poll = async () => {
      clearTimeout(timer);
      if (stopped) return;
      if (document.hidden) {
        timer = setTimeout(poll, intervalMs);
        return;
      }
      controller?.abort();
      controller = new AbortController();
      const signal = controller.signal;
      const timeout = setTimeout(() => controller?.abort(), 5000);
      try {
        const res = await fetch('/api/streams/live', { cache: 'no-store', signal });
        const body: unknown = await res.json().catch(() => null);
        if (!res.ok) {
          const detail = body && typeof body === 'object' && 'detail' in body && typeof body.detail === 'string' ? body.detail : `HTTP ${res.status}`;
          throw new Error(detail);
        }
        const parsed = listSchema.safeParse(body);
        if (!parsed.success) throw new Error('The server sent an unexpected list.');
        if (!stopped) setState({ streams: parsed.data, error: null });
      } catch (error) {
        if (!stopped && !signal.aborted) setState((prev) => ({ streams: prev.streams, error: error instanceof Error ? error.message : String(error) }));
        else if (!stopped) setState((prev) => ({ streams: prev.streams, error: 'The server did not answer in time.' }));
      } finally {
        clearTimeout(timeout);
      }
      if (!stopped) timer = setTimeout(poll, intervalMs);
    };
    const onVisible = () => {
      if (!document.hidden) void poll();
    };
    void poll();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      clearTimeout(timer);
      controller?.abort();
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [intervalMs]);
  return state;
}

/** Current time, refreshed every `intervalMs` (for "live for 3:12" counters). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
