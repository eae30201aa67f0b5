/** The one clock every bench page and the bench process share: ms since the epoch, sub-ms precision. */
export const epochNow = (): number => performance.timeOrigin + performance.now();
/** A page-relative DOMHighResTimeStamp (rAF, rVFC, stats) on the shared clock. */
export const toEpoch = (pageTime: number): number => performance.timeOrigin + pageTime;

/** Raw RTCStats entries of one type as plain objects, for the bench process to compare. */
export async function statsOfType(pc: RTCPeerConnection, ...types: string[]): Promise<Record<string, unknown>[]> {
  const report = await pc.getStats();
  const out: Record<string, unknown>[] = [];
  report.forEach((value: RTCStats) => {
    if (types.includes(value.type)) out.push({ ...(value as unknown as Record<string, unknown>) });
  });
  return out;
}
