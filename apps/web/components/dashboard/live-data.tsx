'use client';
/**
 * Live state for every dashboard page: one EventSource on /dashboard/api/events, the latest
 * snapshot, and the last few minutes of snapshots in memory for the charts.
 */
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { leaveDashboard } from './api';
import type { Snapshot } from './types';

/** Snapshots kept for charts: about 5 minutes at one per second. */
export const HISTORY_LENGTH = 300;

interface LiveData {
  snapshot: Snapshot | null;
  history: readonly Snapshot[];
  /** Whether the event stream is open (false while it reconnects). */
  connected: boolean;
}

const LiveDataContext = createContext<LiveData>({ snapshot: null, history: [], connected: false });

export function LiveDataProvider({ children }: { children: ReactNode }) {
  const [history, setHistory] = useState<Snapshot[]>([]);
  const [connected, setConnected] = useState(false);

  useEffect(() => {
    const source = new EventSource('/dashboard/api/events');
    source.addEventListener('open', () => setConnected(true));
    source.addEventListener('error', () => setConnected(false));
    source.addEventListener('snapshot', (event) => {
      const snap = JSON.parse((event as MessageEvent<string>).data) as Snapshot;
      setConnected(true);
      setHistory((previous) => {
        const next = previous.length >= HISTORY_LENGTH ? previous.slice(previous.length - HISTORY_LENGTH + 1) : previous.slice();
        next.push(snap);
        return next;
      });
    });
    source.addEventListener('signed-out', () => {
      source.close();
      leaveDashboard('/dashboard/login?expired=1');
    });
    return () => source.close();
  }, []);

  const value = useMemo<LiveData>(() => ({ snapshot: history.at(-1) ?? null, history, connected }), [history, connected]);
  return <LiveDataContext.Provider value={value}>{children}</LiveDataContext.Provider>;
}

export function useLiveData(): LiveData {
  return useContext(LiveDataContext);
}
