/**
 * Corrupted-input generation for the decoders' fuzz tests: seeded (a failure reproduces), and
 * bounded (each test asks for a fixed number of cases).
 */
import { ProtocolError } from '../protocol-error';

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** `count` corruptions of the valid samples: truncations, bit flips, byte swaps, insertions, noise. */
export function* corruptions(samples: readonly Uint8Array[], count: number, seed = 1): Generator<Uint8Array> {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  for (let i = 0; i < count; i++) {
    const sample = samples[pick(samples.length)]!;
    const bytes = Uint8Array.from(sample);
    switch (pick(6)) {
      case 0:
        yield bytes.subarray(0, pick(bytes.length + 1));
        break;
      case 1: {
        for (let flips = 1 + pick(4); flips > 0 && bytes.length > 0; flips--) bytes[pick(bytes.length)]! ^= 1 << pick(8);
        yield bytes;
        break;
      }
      case 2: {
        for (let changes = 1 + pick(4); changes > 0 && bytes.length > 0; changes--) bytes[pick(bytes.length)] = pick(256);
        yield bytes;
        break;
      }
      case 3: {
        const at = pick(bytes.length + 1);
        const extra = randomBytes(random, 1 + pick(16));
        const out = new Uint8Array(bytes.length + extra.length);
        out.set(bytes.subarray(0, at));
        out.set(extra, at);
        out.set(bytes.subarray(at), at + extra.length);
        yield out;
        break;
      }
      case 4: {
        // A run of 0xff: maximal varint and prefixed-integer lengths, all-ones Huffman.
        const at = pick(bytes.length + 1);
        const out = Uint8Array.from([...bytes.subarray(0, at), ...new Array(1 + pick(12)).fill(0xff), ...bytes.subarray(at)]);
        yield out;
        break;
      }
      default:
        yield randomBytes(random, pick(64));
    }
  }
}

export type Outcome = 'value' | 'incomplete' | 'protocol-error';

/**
 * Runs one decode and classifies it; anything thrown that is not a ProtocolError fails the test
 * (rethrown with the input that caused it).
 */
export function outcomeOf(input: Uint8Array, decode: (input: Uint8Array) => unknown, incomplete?: unknown): Outcome {
  try {
    const result = decode(input);
    return incomplete !== undefined && result === incomplete ? 'incomplete' : 'value';
  } catch (error) {
    if (error instanceof ProtocolError) return 'protocol-error';
    throw new Error(`decode threw ${String(error)} for input ${toHex(input)}`, { cause: error });
  }
}

/** Splits `bytes` into random pieces (for incremental readers). */
export function randomSplit(bytes: Uint8Array, random: () => number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const size = 1 + Math.floor(random() * Math.min(32, bytes.length - offset));
    pieces.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

export function hex(value: string): Uint8Array {
  const digits = value.replace(/\s+/g, '');
  return Uint8Array.from({ length: digits.length / 2 }, (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16));
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
