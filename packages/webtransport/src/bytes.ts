/** Byte helpers on plain Uint8Array (the package runs wherever a Uint8Array does). */

export const EMPTY_BYTES = new Uint8Array(0);

/** One array holding `parts` in order; returns the only part itself when there is one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let size = 0;
  for (const part of parts) size += part.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Latin-1: one char per byte, so any octet string survives a round trip through a string. */
export function bytesToLatin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 4096)));
  }
  return out;
}

/** Inverse of bytesToLatin1; a char above U+00FF is a programming error (RangeError). */
export function latin1ToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new RangeError(`field text must be octets (latin-1), got U+${code.toString(16)} at ${i}`);
    out[i] = code;
  }
  return out;
}
