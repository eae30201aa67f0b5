/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and says where the ingest's time went during
 * a window (CLOCK_MONOTONIC µs, the clock of both `process.hrtime` and the profile's
 * timestamps): self time of the top functions, and inclusive time of the frames on the packet
 * path, each also as µs per forwarded packet.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

/** Frames on the packet path, matched by function name (first match of a name per sample). */
const PATH_FRAMES = [
  'forward', 'send', 'sendRtp', 'dispatchRtp', 'encrypt', 'deSerialize', 'serialize', 'runRtcp', 'rtpPacketSent',
  'serializeAbsSendTime', 'ntpTime', 'clone', 'onReceiveRtp', 'decrypt', 'writeRtpHeader', 'probeKeyframe', 'record', 'process',
  'execute', 'dataReceived', 'send$1', 'sendto', 'createCipheriv', 'createHmac', 'update', 'final', 'digest', 'onMessage',
  '(garbage collector)', '(program)',
];

function short(url: string): string {
  const m = /node_modules\/([^/]+)\/(.*)$/.exec(url);
  if (m) return `${m[1]}/${m[2]!.split('/').pop()}`;
  return url.replace(/^.*\/(apps|packages|bench)\//, '$1/').replace(/^node:/, 'node:');
}

export async function summarizeProfile(file: string, window: { startUs: number; endUs: number }, packetsOutPerS: number): Promise<{ text: string; json: Record<string, unknown> }> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let t = profile.startTime;
  let busyUs = 0;
  let windowUs = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < window.startUs || t > window.endUs) continue;
    windowUs += dt;
    const leaf = byId.get(profile.samples[i]!)!;
    if (leaf.callFrame.functionName === '(idle)') continue;
    busyUs += dt;
    const key = `${leaf.callFrame.functionName || '(anonymous)'} ${short(leaf.callFrame.url)}:${leaf.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const name = byId.get(id)!.callFrame.functionName;
      if (!PATH_FRAMES.includes(name) || seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + dt);
    }
  }
  const seconds = (window.endUs - window.startUs) / 1e6;
  const perPacket = (us: number) => us / seconds / packetsOutPerS;
  const topSelf = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([name, us]) => ({ name, pctOfBusy: (us / busyUs) * 100, usPerPacket: perPacket(us) }));
  const frames = PATH_FRAMES.filter((f) => inclusive.has(f)).map((name) => ({ name, pctOfBusy: (inclusive.get(name)! / busyUs) * 100, usPerPacket: perPacket(inclusive.get(name)!) })).sort((a, b) => b.pctOfBusy - a.pctOfBusy);
  const lines = [
    `profile window ${seconds.toFixed(1)} s, busy ${((busyUs / (window.endUs - window.startUs)) * 100).toFixed(1)} % of a core, ${packetsOutPerS.toFixed(0)} packets out/s → ${perPacket(busyUs).toFixed(1)} µs busy per forwarded packet`,
    '', 'inclusive (frames on the packet path):',
    ...frames.map((f) => `  ${f.pctOfBusy.toFixed(1).padStart(5)} %  ${f.usPerPacket.toFixed(2).padStart(6)} µs/pkt  ${f.name}`),
    '', 'self time, top 30:',
    ...topSelf.map((f) => `  ${f.pctOfBusy.toFixed(1).padStart(5)} %  ${f.usPerPacket.toFixed(2).padStart(6)} µs/pkt  ${f.name}`),
  ];
  return { text: lines.join('\n'), json: { windowSeconds: seconds, busyPctOfCore: (busyUs / (window.endUs - window.startUs)) * 100, sampledUs: windowUs, usBusyPerPacket: perPacket(busyUs), inclusive: frames, topSelf } };
}
