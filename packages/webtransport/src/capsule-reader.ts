/**
 * Incremental capsule parser for the data stream of a CONNECT (the concatenated DATA payloads).
 * WebTransport's own capsules are buffered (they are small: at most 4 + 1024 bytes); every
 * other capsule type, DATAGRAM capsules included, is skipped as it streams by (RFC 9297 §3.2:
 * unknown capsule types are silently skipped), so the reader holds at most ~1 KiB.
 */
import { CapsuleType, decodeCapsuleHeader, MAX_CLOSE_REASON_BYTES, type Capsule } from './capsule';
import { H3 } from './error-codes';
import { INCOMPLETE, ProtocolError } from './protocol-error';

const MAX_BUFFERED: ReadonlyMap<number, number> = new Map([
  [CapsuleType.CLOSE_WEBTRANSPORT_SESSION, 4 + MAX_CLOSE_REASON_BYTES],
  [CapsuleType.DRAIN_WEBTRANSPORT_SESSION, 0],
]);

type State = { at: 'header' } | { at: 'skip'; remaining: number } | { at: 'value'; type: number; value: Uint8Array; filled: number };

export class CapsuleReader {
  private state: State = { at: 'header' };
  private pending: Uint8Array | undefined;

  /** True between capsules: the data stream may end here (RFC 9297 §3.3). */
  get atCapsuleBoundary(): boolean {
    return this.state.at === 'header' && this.pending === undefined;
  }

  push(chunk: Uint8Array): Capsule[] {
    const capsules: Capsule[] = [];
    let bytes = chunk;
    if (this.pending) {
      bytes = new Uint8Array(this.pending.length + chunk.length);
      bytes.set(this.pending);
      bytes.set(chunk, this.pending.length);
      this.pending = undefined;
    }
    let offset = 0;
    const finishValue = () => {
      if (this.state.at === 'value' && this.state.filled === this.state.value.length) {
        capsules.push({ type: this.state.type, value: this.state.value });
        this.state = { at: 'header' };
      } else if (this.state.at === 'skip' && this.state.remaining === 0) {
        this.state = { at: 'header' };
      }
    };
    while (offset < bytes.length) {
      const state = this.state;
      if (state.at === 'header') {
        const header = decodeCapsuleHeader(bytes, offset);
        if (header === INCOMPLETE) {
          this.pending = bytes.slice(offset);
          break;
        }
        offset += header.headerLength;
        const max = MAX_BUFFERED.get(header.type);
        if (max === undefined) this.state = { at: 'skip', remaining: header.length };
        else if (header.length > max) {
          throw new ProtocolError(H3.MESSAGE_ERROR, `capsule 0x${header.type.toString(16)} of ${header.length} bytes (at most ${max})`, 'stream');
        } else this.state = { at: 'value', type: header.type, value: new Uint8Array(header.length), filled: 0 };
      } else if (state.at === 'skip') {
        const take = Math.min(state.remaining, bytes.length - offset);
        state.remaining -= take;
        offset += take;
      } else {
        const take = Math.min(state.value.length - state.filled, bytes.length - offset);
        state.value.set(bytes.subarray(offset, offset + take), state.filled);
        state.filled += take;
        offset += take;
      }
      finishValue();
    }
    return capsules;
  }
}
