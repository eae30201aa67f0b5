/**
 * Incremental HTTP/3 frame parser for one stream: feed it the stream's bytes as they arrive,
 * in any split, and it yields whole frames, DATA payload pieces and nothing else.
 *
 * - DATA payloads are streamed out as they come (never buffered whole), so a long DATA frame
 *   costs no memory here.
 * - Other known frames are buffered up to `maxPayload`; a longer one yields `too-large` (the
 *   caller decides: 431 for HEADERS, H3_EXCESSIVE_LOAD otherwise) and the reader stops.
 * - Unknown and greased types are skipped without buffering (RFC 9114 §9); HTTP/2-only types
 *   throw H3_FRAME_UNEXPECTED (§7.2.8).
 */
import { H3 } from './error-codes';
import { decodeFrameHeader, FrameType, KNOWN_FRAME_TYPES, RESERVED_HTTP2_FRAME_TYPES } from './frame';
import { INCOMPLETE, ProtocolError } from './protocol-error';

export type FrameEvent =
  | { kind: 'frame'; type: number; payload: Uint8Array }
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'too-large'; type: number; length: number };

type State =
  | { at: 'header' }
  | { at: 'data'; remaining: number }
  | { at: 'skip'; remaining: number }
  | { at: 'payload'; type: number; payload: Uint8Array; filled: number }
  | { at: 'failed' };

export class FrameReader {
  private state: State = { at: 'header' };
  /** Bytes of a frame header split across pushes (at most 16). */
  private pending: Uint8Array | undefined;

  constructor(private readonly maxPayload: number) {}

  /** True between frames: a stream may end here without H3_FRAME_ERROR (RFC 9114 §7.1). */
  get atFrameBoundary(): boolean {
    return this.state.at === 'header' && this.pending === undefined;
  }

  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    let bytes = chunk;
    if (this.pending) {
      bytes = new Uint8Array(this.pending.length + chunk.length);
      bytes.set(this.pending);
      bytes.set(chunk, this.pending.length);
      this.pending = undefined;
    }
    let offset = 0;
    while (offset < bytes.length) {
      const state = this.state;
      switch (state.at) {
        case 'failed':
          return events;
        case 'header': {
          const header = decodeFrameHeader(bytes, offset);
          if (header === INCOMPLETE) {
            this.pending = bytes.slice(offset);
            return events;
          }
          offset += header.headerLength;
          if (RESERVED_HTTP2_FRAME_TYPES.has(header.type)) {
            this.state = { at: 'failed' };
            throw new ProtocolError(H3.FRAME_UNEXPECTED, `HTTP/2 frame type 0x${header.type.toString(16)} received`);
          }
          if (header.type === FrameType.DATA) this.state = { at: 'data', remaining: header.length };
          else if (!KNOWN_FRAME_TYPES.has(header.type)) this.state = { at: 'skip', remaining: header.length };
          else if (header.length > this.maxPayload) {
            this.state = { at: 'failed' };
            events.push({ kind: 'too-large', type: header.type, length: header.length });
            return events;
          } else if (offset + header.length <= bytes.length) {
            // The whole payload is here: hand out a view, no copy.
            events.push({ kind: 'frame', type: header.type, payload: bytes.subarray(offset, offset + header.length) });
            offset += header.length;
          } else {
            this.state = { at: 'payload', type: header.type, payload: new Uint8Array(header.length), filled: 0 };
          }
          break;
        }
        case 'data':
        case 'skip': {
          const take = Math.min(state.remaining, bytes.length - offset);
          if (state.at === 'data' && take > 0) events.push({ kind: 'data', bytes: bytes.subarray(offset, offset + take) });
          offset += take;
          state.remaining -= take;
          if (state.remaining === 0) this.state = { at: 'header' };
          break;
        }
        case 'payload': {
          const take = Math.min(state.payload.length - state.filled, bytes.length - offset);
          state.payload.set(bytes.subarray(offset, offset + take), state.filled);
          state.filled += take;
          offset += take;
          if (state.filled === state.payload.length) {
            events.push({ kind: 'frame', type: state.type, payload: state.payload });
            this.state = { at: 'header' };
          }
          break;
        }
      }
    }
    // A zero-length DATA or unknown frame ends exactly at a header: nothing left to wait for.
    if ((this.state.at === 'data' || this.state.at === 'skip') && this.state.remaining === 0) this.state = { at: 'header' };
    return events;
  }
}
