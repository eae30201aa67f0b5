/**
 * What the HTTP/3 layer calls for a QUIC stream it has given to someone: a critical stream, a
 * request stream, a WebTransport stream, or a stream being drained after we stopped reading.
 */
export interface StreamHandler {
  /** quiche has something for this stream: the handler reads what it wants now. */
  onReadable(): void;
  /** The peer sent STOP_SENDING for our send side (RFC 9000 §3.5), code as sent (null: unknown). */
  onStopSending?(code: number | null): void;
  /** The QUIC connection is gone: fail whatever is in flight. */
  onConnectionClosed?(): void;
}
