/**
 * The latency an edge hop adds, measured by a viewer of each (its own process, pinned by the
 * caller): one werift WHEP viewer of the origin and one of each edge, in this one process, so both
 * arrival times come from the same clock and the same event loop. Forwarding keeps RTP payloads
 * byte for byte (only SRTP, sequence numbers and SSRC change), so the same packet is recognised
 * at the origin's viewer and an edge's by its payload's length and first bytes (ReceivedPacket.fingerprint); the
 * publisher's clip repeats every 6 s, so a match is taken only within ±1 s. A packet's hop delay =
 * its arrival at the edge's viewer − its arrival at the origin's viewer: the edge's receive,
 * decrypt, route and re-encrypt, plus one more loopback UDP hop.
 *
 *   IPC: {cmd:'start', originWhepUrl, edgeWhepUrls} → {cmd:'started'} once both receive video
 *        {cmd:'take'} → {cmd:'taken', delaysMs: number[], unmatched} (packets since the last take)
 *        {cmd:'close'} → exits
 */
import { startWeriftWhepViewer, type ReceivedPacket, type WeriftWhepViewer } from '../../test/support/peers/werift-whep-viewer';
import { pollUntil } from '../../test/support/poll';

const MATCH_WINDOW_MS = 1000;
let origin: WeriftWhepViewer | undefined;
let edges: WeriftWhepViewer[] = [];
/** Origin packets not yet matched, by fingerprint (arrival times, oldest first). */
const pending = new Map<string, number[]>();
let edgeBacklog: ReceivedPacket[] = [];

/** Matches what the viewers received since the last call; edge packets newer than the window wait for the next call. */
function take(): { delaysMs: number[]; unmatched: number } {
  const now = performance.now();
  for (const p of origin!.video.splice(0)) {
    const list = pending.get(p.fingerprint);
    if (list) list.push(p.receivedAt);
    else pending.set(p.fingerprint, [p.receivedAt]);
  }
  for (const edge of edges) edgeBacklog.push(...edge.video.splice(0));
  const delaysMs: number[] = [];
  let unmatched = 0;
  const keep: ReceivedPacket[] = [];
  for (const p of edgeBacklog) {
    const list = pending.get(p.fingerprint);
    const i = list ? list.findIndex((t) => Math.abs(p.receivedAt - t) <= MATCH_WINDOW_MS) : -1;
    if (i >= 0) {
      delaysMs.push(p.receivedAt - list![i]!);
      list!.splice(i, 1);
    } else if (now - p.receivedAt < MATCH_WINDOW_MS) keep.push(p); // the origin's copy may be late still
    else unmatched += 1;
  }
  edgeBacklog = keep;
  for (const [key, list] of pending) {
    const fresh = list.filter((t) => now - t < 2 * MATCH_WINDOW_MS);
    if (fresh.length) pending.set(key, fresh);
    else pending.delete(key);
  }
  return { delaysMs, unmatched };
}

process.on('message', (message: { cmd: string; originWhepUrl?: string; edgeWhepUrls?: string[] }) => {
  if (message.cmd === 'start') {
    void (async () => {
      origin = await startWeriftWhepViewer({ whepUrl: message.originWhepUrl!, video: ['H264'] });
      for (const whepUrl of message.edgeWhepUrls!) edges.push(await startWeriftWhepViewer({ whepUrl, video: ['H264'] }));
      await Promise.all([origin.connected, ...edges.map((e) => e.connected)]);
      await pollUntil('video at every probe viewer', () => [origin!, ...edges].every((v) => v.video.length > 0), { timeoutMs: 20_000, intervalMs: 50 });
      take();
      process.send!({ cmd: 'started' });
    })().catch((error: unknown) => process.send!({ cmd: 'started', error: String(error) }));
  } else if (message.cmd === 'take') {
    process.send!({ cmd: 'taken', ...take() });
  } else if (message.cmd === 'close') {
    void Promise.allSettled([origin, ...edges].map((v) => v?.close({ delete: true }))).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ cmd: 'ready' });
