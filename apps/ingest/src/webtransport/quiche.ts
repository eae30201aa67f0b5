/**
 * The raw quiche binding that `@matrixai/quic` ships (FIELD-NOTES: the only HTTP/3-capable QUIC
 * that installs here). It is an internal import of that package, hence the exact version pin;
 * nothing outside `webtransport/` touches it.
 */
import binding from '@matrixai/quic/native/quiche.js';
import type { Config, Connection, ConnectionError, Host } from '@matrixai/quic/native/types.js';

export const quiche = binding;
export type { Config as QuicheConfig, Connection as QuicheConnection, ConnectionError as QuicheConnectionError, Host as HostPort };

/** quiche reports stream errors as messages like `StreamReset(264)`; this reads the code. */
export function quicheStreamErrorCode(error: unknown, kind: 'StreamReset' | 'StreamStopped'): number | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const match = new RegExp(`${kind}\\((\\d{1,20})\\)`).exec(message);
  return match ? Number(match[1]) : undefined;
}

export function quicheErrorName(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
