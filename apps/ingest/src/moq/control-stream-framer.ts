/**
 * moq-lite's control streams (bidirectional, QUIC varints), as @moq/lite 0.2 reads them
 * (`lite/connection.ts` #runBidi, `lite/subscriber.ts`, `lite/message.ts`, `connection/accept.ts`):
 *
 *   opened by the publisher:  varint stream type, then
 *     1 announce · 2 subscribe · 4 probe · 5 goaway   messages: varint size · body
 *     0x20 SETUP (no wt-protocol)   CLIENT_SETUP in moq-transport-14 framing: u16 size · body; then
 *                                   the session stream's messages: moq-lite's (varint size · body)
 *                                   once the ingest's reply (0x21 · u16 size · varint version) named
 *                                   a moq-lite version, else moq-transport's (varint type · u16 size · body)
 *     anything else                 the library refuses the stream at its type and reads no further
 *   opened by the ingest (its first written varint is the type): the answers, varint size · body;
 *     on a subscribe stream each is preceded by a varint response type (moq-lite-03+: OK or DROP)
 *
 * Each message's declared size is checked as soon as its prefix is whole, before any of its body
 * is held: @moq/lite reads a message of up to 64 MiB into one buffer, copying what it holds on
 * every chunk, and the byte budget (byte-budget.ts) bounds only the rate — a sender within it
 * built one message of many MiB per stream, ×32 streams. The bytes pass through as they came:
 * under the cap, the library's copying costs at most ~55 packets' worth per message. Pure: the
 * ingest's own writes on the stream come in through `sent()`.
 */
import { decodeQuicVarint } from './quic-varint';

export type ControlFramerResult = { chunks: Uint8Array[]; error?: undefined } | { chunks: Uint8Array[]; error: string };

/** A message header field: a varint read over, a varint or big-endian u16 size of the body that follows. */
type Field = 'varint' | 'size' | 'size16';

const MESSAGE: readonly Field[] = ['size'];
const SUBSCRIBE_ANSWER: readonly Field[] = ['varint', 'size'];
const IETF_SETUP: readonly Field[] = ['size16'];
const IETF_MESSAGE: readonly Field[] = ['varint', 'size16'];

/** `lite/stream.ts` StreamId. */
const STREAM_NAMES = new Map([
  [1, 'announce'],
  [2, 'subscribe'],
  [4, 'probe'],
  [5, 'goaway'],
  [0x20, 'SETUP'],
]);
const SUBSCRIBE = 2;
const CLIENT_SETUP = 0x20;
const SERVER_SETUP = 0x21;
/** moq-lite-01 … moq-lite-04 (`lite/version.ts`): 0xff0dad01 …; moq-transport's are 0xff0000xx. */
const isLiteVersion = (version: number) => version >= 0xff0dad00 && version <= 0xff0dadff;

export interface ControlStreamFramerOptions {
  /** Who opened the stream: the publisher ('remote', a stream type comes first) or the ingest ('local'). */
  opened: 'remote' | 'local';
  /** Largest body a message may declare, bytes. */
  maxMessageBytes: number;
}

export class ControlStreamFramer {
  private state: 'type' | 'messages' | 'unchecked' | 'failed';
  private streamType: number | undefined;
  /** The first bytes the ingest wrote: its stream type, or its SETUP reply (≤ 11 bytes are read). */
  private sentHead = new Uint8Array(0);
  private shape: readonly Field[] | undefined;
  private field = 0;
  private fieldBytes: number[] = [];
  private bodyLeft = 0;
  private messages = 0;
  /** Bytes past CLIENT_SETUP arrived before the ingest had replied (a moq-lite client waits for the reply). */
  private earlyBytes = false;

  constructor(private readonly options: ControlStreamFramerOptions) {
    this.state = options.opened === 'remote' ? 'type' : 'messages';
  }

  /** What the ingest wrote on this stream (only its first bytes are kept). */
  sent(chunk: Uint8Array): void {
    if (this.sentHead.length >= 16 || chunk.length === 0) return;
    const head = new Uint8Array(Math.min(16, this.sentHead.length + chunk.length));
    head.set(this.sentHead);
    head.set(chunk.subarray(0, head.length - this.sentHead.length), this.sentHead.length);
    this.sentHead = head;
  }

  push(chunk: Uint8Array): ControlFramerResult {
    if (this.state === 'failed') return { chunks: [], error: 'the stream already failed' };
    for (let offset = 0; offset < chunk.length && this.state !== 'unchecked'; ) {
      if (this.state === 'type') {
        const type = this.varint(chunk[offset]!);
        offset += 1;
        if (type === null) continue;
        this.streamType = type;
        this.state = type !== undefined && STREAM_NAMES.has(type) ? 'messages' : 'unchecked';
        continue;
      }
      if (this.afterSetup()) {
        const version = this.replyVersion();
        if (version === undefined) this.earlyBytes = true;
        // Read as moq-transport's until now, so possibly out of step with the library: a moq-lite client waits for the reply.
        else if (this.earlyBytes && isLiteVersion(version)) return this.fail("the publisher's SETUP stream went on before the SETUP reply");
      }
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - offset);
        this.bodyLeft -= take;
        offset += take;
        if (this.bodyLeft === 0) this.endMessage();
        continue;
      }
      this.shape ??= this.nextShape();
      const kind = this.shape[this.field]!;
      const byte = chunk[offset]!;
      offset += 1;
      if (kind === 'size16') {
        this.fieldBytes.push(byte);
        if (this.fieldBytes.length < 2) continue;
        const size = this.fieldBytes[0]! * 256 + this.fieldBytes[1]!;
        this.fieldBytes = [];
        if (size > this.options.maxMessageBytes) return this.fail(this.tooLarge(size));
        this.bodyLeft = size;
      } else {
        const value = this.varint(byte);
        if (value === null) continue;
        if (kind === 'size') {
          if (value === undefined) return this.fail(`a control message size past 2^53 on ${this.streamName()}`);
          if (value > this.options.maxMessageBytes) return this.fail(this.tooLarge(value));
          this.bodyLeft = value;
        } else if (value === undefined) {
          // A type past 2^53: @moq/lite's u53() throws there and reads no further.
          this.state = 'unchecked';
          continue;
        }
      }
      this.field += 1;
      if (this.field === this.shape.length && this.bodyLeft === 0) this.endMessage();
    }
    return { chunks: chunk.length ? [chunk] : [] };
  }

  /** The varint being read, with `byte`: null while incomplete, undefined past 2^53. */
  private varint(byte: number): number | null | undefined {
    this.fieldBytes.push(byte);
    const length = 1 << (this.fieldBytes[0]! >> 6);
    if (this.fieldBytes.length < length) return null;
    const decoded = decodeQuicVarint(Uint8Array.from(this.fieldBytes));
    this.fieldBytes = [];
    return decoded?.value;
  }

  private endMessage(): void {
    this.messages += 1;
    this.shape = undefined;
    this.field = 0;
  }

  private nextShape(): readonly Field[] {
    if (this.options.opened === 'local') return decodeQuicVarint(this.sentHead)?.value === SUBSCRIBE ? SUBSCRIBE_ANSWER : MESSAGE;
    if (this.streamType !== CLIENT_SETUP) return MESSAGE;
    if (this.messages === 0) return IETF_SETUP;
    // Until the reply names a moq-lite version, only a moq-transport client sends on (its framing is bounded by its u16).
    const version = this.replyVersion();
    return version !== undefined && isLiteVersion(version) ? MESSAGE : IETF_MESSAGE;
  }

  private afterSetup(): boolean {
    return this.options.opened === 'remote' && this.streamType === CLIENT_SETUP && this.messages > 0;
  }

  /** The version the ingest's SERVER_SETUP named: 0x21 · u16 size · varint version (moq-transport-14 framing). */
  private replyVersion(): number | undefined {
    const type = decodeQuicVarint(this.sentHead);
    if (type?.value !== SERVER_SETUP) return undefined;
    return decodeQuicVarint(this.sentHead, type.length + 2)?.value;
  }

  private streamName(): string {
    const type = this.options.opened === 'local' ? decodeQuicVarint(this.sentHead)?.value : this.streamType;
    const name = (type !== undefined && STREAM_NAMES.get(type)) || 'control';
    return this.options.opened === 'local' ? `the ${name} stream the ingest opened` : `the publisher's ${name} stream`;
  }

  private tooLarge(size: number): string {
    return `a ${size}-byte control message on ${this.streamName()}, more than ${this.options.maxMessageBytes}`;
  }

  private fail(error: string): ControlFramerResult {
    this.state = 'failed';
    return { chunks: [], error };
  }
}
