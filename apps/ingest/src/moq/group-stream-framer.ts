/**
 * moq-lite's group stream (a unidirectional QUIC stream per group, QUIC varints, as @moq/lite
 * 0.2 reads it in `lite/connection.ts` and `lite/subscriber.ts`):
 *
 *   u8 stream type (0 = group) · varint size · GROUP {varint subscribe id, varint sequence}
 *   then per frame: varint size · payload
 *
 * re-cut so that each chunk handed on is one whole message: the type and header, then one
 * frame. Why: @moq/lite's Reader appends every incoming chunk to the bytes it holds by copying
 * both, so a frame arriving in n packets costs n²/2 packet copies — measured here, 1 MiB in
 * 1200-byte chunks blocked the event loop 2.8 s, 4 MiB 61 s (every viewer of every stream stalls
 * with it). Whole frames cost one copy each. A frame declared larger than `maxFrameBytes` fails
 * the stream before any of it is held. Pure: chunks in, chunks out; another stream type passes
 * through untouched.
 */
import { decodeQuicVarint } from './quic-varint';

export type FramerResult = { chunks: Uint8Array[]; error?: undefined } | { chunks: Uint8Array[]; error: string };

/** The group header is two varints; anything longer is not a moq-lite group header. */
const MAX_HEADER_BYTES = 16;

export class GroupStreamFramer {
  /** Bytes of the message being assembled, in received pieces (joined once, when complete). */
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  /** Size of the message being assembled (prefix included), once its prefix is read. */
  private messageBytes: number | undefined;
  private state: 'type' | 'header' | 'frames' | 'passthrough' | 'failed' = 'type';

  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes received and not yet handed on: the message being assembled. */
  get heldBytes(): number {
    return this.partsBytes;
  }

  push(chunk: Uint8Array): FramerResult {
    if (this.state === 'passthrough') return { chunks: chunk.length ? [chunk] : [] };
    if (this.state === 'failed') return { chunks: [], error: 'the stream already failed' };
    const out: Uint8Array[] = [];
    let offset = 0;
    if (this.state === 'type' && chunk.length > 0) {
      if (chunk[0] !== 0) {
        this.state = 'passthrough';
        return { chunks: [chunk] };
      }
      this.append(chunk.subarray(0, 1));
      offset = 1;
      this.state = 'header';
    }
    while (offset < chunk.length) {
      if (this.messageBytes === undefined) {
        // The size prefix may itself be cut: take bytes one at a time until it is whole.
        this.append(chunk.subarray(offset, offset + 1));
        offset += 1;
        const start = this.state === 'header' ? 1 : 0;
        const prefix = this.joined().subarray(start);
        const size = decodeQuicVarint(prefix);
        if (!size) {
          if (prefix.length >= 8) return this.fail(out, 'a size past 2^53');
          continue;
        }
        const limit = this.state === 'header' ? MAX_HEADER_BYTES : this.maxFrameBytes;
        if (size.value > limit) return this.fail(out, this.state === 'header' ? `a ${size.value}-byte group header` : `a ${size.value}-byte frame, more than ${this.maxFrameBytes}`);
        this.messageBytes = start + size.length + size.value;
      }
      const take = Math.min(chunk.length - offset, this.messageBytes - this.partsBytes);
      if (take > 0) this.append(chunk.subarray(offset, offset + take));
      offset += take;
      if (this.partsBytes === this.messageBytes) {
        out.push(this.joined());
        this.parts = [];
        this.partsBytes = 0;
        this.messageBytes = undefined;
        this.state = 'frames';
      }
    }
    return { chunks: out };
  }

  /** The stream ended: what is left is an incomplete message, handed on for the library to report. */
  end(): Uint8Array[] {
    if (this.partsBytes === 0 || this.state === 'failed') return [];
    const rest = this.joined();
    this.parts = [];
    this.partsBytes = 0;
    return [rest];
  }

  private append(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.partsBytes += bytes.length;
  }

  /** The pieces as one buffer: joined once, when the message is whole (the library copies what it gets). */
  private joined(): Uint8Array {
    if (this.parts.length !== 1) {
      const whole = new Uint8Array(this.partsBytes);
      let at = 0;
      for (const part of this.parts) {
        whole.set(part, at);
        at += part.length;
      }
      this.parts = [whole];
      return whole;
    }
    return this.parts[0]!;
  }

  private fail(chunks: Uint8Array[], error: string): FramerResult {
    this.state = 'failed';
    this.parts = [];
    this.partsBytes = 0;
    return { chunks, error };
  }
}
