/** Seeded corruption for the RTCP parsers' fuzz tests (deterministic, so a failure reproduces). */

export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fff_ffff;
    return state / 0x7fff_ffff;
  };
}

/** Every 4th input random bytes; else `valid` cut short by up to 8 bytes, then up to 3 bytes overwritten. */
export function corrupt(random: () => number, valid: Uint8Array, i: number): Buffer {
  const data = i % 4 === 0 ? Buffer.from(Array.from({ length: Math.floor(random() * 96) }, () => Math.floor(random() * 256))) : Buffer.from(valid.subarray(0, Math.max(0, valid.length - Math.floor(random() * 8))));
  for (let flips = 0; flips < 3 && data.length > 0; flips++) data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
  return data;
}
