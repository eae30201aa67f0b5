/**
 * Engine comparison for the fan-out (issue 5): what one RTP packet to one viewer costs the
 * sending process when libdatachannel does SRTP and UDP in C++ (node-datachannel), measured the
 * way bench/fanout.ts measures the ingest (CPU from /proc deltas, slope over N, baseline of the
 * same run). node-datachannel is not a dependency of the repo: install it aside and point here.
 *
 *   npm install --prefix /tmp/ndc node-datachannel
 *   NDC_DIR=/tmp/ndc npx tsx bench/lib/fanout-ndc-eval.ts [--steps=0,50,100,200,300]
 *
 * The sender (pinned to core 0) holds N PeerConnections, each with one sendonly H.264 track, and
 * sends every track the same packet stream as bench/fanout.ts's publisher (~292 packets/s of
 * 1200-byte RTP); the receivers (another process, core 1) count what arrives per track.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const ndcDir = process.env.NDC_DIR ?? '/tmp/ndc';
const require = createRequire(join(ndcDir, 'package.json'));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ndc = require('node-datachannel') as any;
const role = process.argv[2];

const PACKETS_PER_SECOND = 292;
const PACKET_BYTES = 1100;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

if (role === 'receiver') {
  // One PeerConnection per offer; counts packets per track.
  let received = 0;
  const pcs: unknown[] = [];
  process.on('message', (m: { cmd: string; id?: number; sdp?: string }) => {
    if (m.cmd === 'offer') {
      const pc = new ndc.PeerConnection(`r${m.id}`, { iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: false });
      pcs.push(pc);
      pc.onTrack((track: { onMessage(fn: (msg: Buffer) => void): void }) => {
        pcs.push(track); // keep the JS object alive, or its callbacks go with it
        track.onMessage(() => (received += 1));
      });
      pc.onLocalDescription((sdp: string, type: string) => {
        if (type === 'answer') process.send!({ cmd: 'answer', id: m.id, sdp });
      });
      pc.onGatheringStateChange((state: string) => {
        if (state === 'complete') process.send!({ cmd: 'answer-final', id: m.id, sdp: pc.localDescription().sdp });
      });
      pc.setRemoteDescription(m.sdp!, 'offer');
    } else if (m.cmd === 'stats') {
      process.send!({ cmd: 'stats', received });
    } else if (m.cmd === 'close') {
      process.exit(0);
    }
  });
  process.send!({ cmd: 'ready' });
} else {
  const steps = (process.argv.find((a) => a.startsWith('--steps='))?.slice(8) ?? '0,50,100,200,300').split(',').map(Number);
  const receiver: ChildProcess = fork(process.argv[1]!, ['receiver'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    require('node:child_process').execFileSync('taskset', ['-pc', '1', String(receiver.pid)]);
    require('node:child_process').execFileSync('taskset', ['-pc', '0', String(process.pid)]);
  } catch { /* taskset missing: unpinned */ }
  const pending = new Map<number, (sdp: string) => void>();
  const statsWaiters: Array<(n: number) => void> = [];
  receiver.on('message', (m: { cmd: string; id?: number; sdp?: string; received?: number }) => {
    if (m.cmd === 'answer-final') pending.get(m.id!)?.(m.sdp!);
    if (m.cmd === 'stats') statsWaiters.shift()?.(m.received!);
  });
  await new Promise<void>((r) => receiver.once('message', () => r()));
  const tracks: Array<{ sendMessageBinary(b: Buffer): boolean; isOpen(): boolean }> = [];
  const ssrcs: number[] = [];
  let nextId = 0;
  async function addViewer(): Promise<void> {
    const id = nextId++;
    const pc = new ndc.PeerConnection(`s${id}`, { iceServers: [], bindAddress: '127.0.0.1' });
    const video = new ndc.Video('video', 'SendOnly');
    video.addH264Codec(102);
    const ssrc = 1000 + id;
    video.addSSRC(ssrc, 'onair', 'stream', 'video');
    const track = pc.addTrack(video);
    const opened = new Promise<void>((resolve) => track.onOpen(() => resolve()));
    const offer = await new Promise<string>((resolve) => {
      pc.onGatheringStateChange((state: string) => {
        if (state === 'complete') resolve(pc.localDescription().sdp);
      });
      pc.setLocalDescription();
    });
    const answer = await new Promise<string>((resolve) => {
      pending.set(id, resolve);
      receiver.send({ cmd: 'offer', id, sdp: offer });
    });
    pc.setRemoteDescription(answer, 'answer');
    await Promise.race([opened, new Promise((_, reject) => setTimeout(() => reject(new Error('track open timeout')), 15_000))]);
    tracks.push(track);
    ssrcs.push(ssrc);
  }
  const cpu = () => {
    const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  const receivedCount = () => new Promise<number>((resolve) => { statsWaiters.push(resolve); receiver.send({ cmd: 'stats' }); });
  // The packet stream: one 1100-byte RTP packet per tick slot, each track gets its own header.
  const payload = Buffer.alloc(PACKET_BYTES - 12, 0x42);
  let seq = 0;
  let sent = 0;
  const timer = setInterval(() => {
    const perTick = Math.round(PACKETS_PER_SECOND / 100);
    for (let k = 0; k < perTick; k += 1) {
      seq = (seq + 1) & 0xffff;
      for (let i = 0; i < tracks.length; i += 1) {
        // Per-viewer header, as the ingest's router writes it.
        const packet = Buffer.allocUnsafe(PACKET_BYTES);
        packet[0] = 0x80;
        packet[1] = 102;
        packet.writeUInt16BE(seq, 2);
        packet.writeUInt32BE(seq * 3000, 4);
        packet.writeUInt32BE(ssrcs[i]!, 8);
        payload.copy(packet, 12);
        if (tracks[i]!.sendMessageBinary(packet)) sent += 1;
      }
    }
  }, 10);
  const rows: Array<{ viewers: number; cpuPct: number; pktsPerS: number; deliveredPerS: number }> = [];
  for (const n of steps) {
    while (tracks.length < n) await Promise.all(Array.from({ length: Math.min(10, n - tracks.length) }, () => addViewer()));
    await new Promise((r) => setTimeout(r, 1500));
    const windows: Array<{ cpuPct: number; pktsPerS: number; deliveredPerS: number }> = [];
    for (let rep = 0; rep < 3; rep += 1) {
      const t0 = performance.now(), c0 = cpu(), s0 = sent, r0 = await receivedCount();
      await new Promise((r) => setTimeout(r, 3000));
      const t1 = performance.now(), c1 = cpu(), s1 = sent, r1 = await receivedCount();
      const s = (t1 - t0) / 1000;
      windows.push({ cpuPct: ((c1 - c0) / s) * 100, pktsPerS: (s1 - s0) / s, deliveredPerS: (r1 - r0) / s });
    }
    const row = { viewers: n, cpuPct: median(windows.map((w) => w.cpuPct)), pktsPerS: median(windows.map((w) => w.pktsPerS)), deliveredPerS: median(windows.map((w) => w.deliveredPerS)) };
    rows.push(row);
    const base = rows[0]!;
    const us = row.pktsPerS > 0 ? ((row.cpuPct - base.cpuPct) / 100 / row.pktsPerS) * 1e6 : NaN;
    console.log(`N=${String(n).padStart(4)}  sender CPU ${row.cpuPct.toFixed(1).padStart(5)} %  sent ${row.pktsPerS.toFixed(0).padStart(6)} pkt/s  delivered ${row.deliveredPerS.toFixed(0).padStart(6)} pkt/s  µs/pkt ${us.toFixed(1)}`);
    if (row.cpuPct > 90) break;
  }
  clearInterval(timer);
  const loaded = rows.filter((r) => r.pktsPerS > 0);
  const mx = loaded.reduce((a, r) => a + r.pktsPerS, 0) / loaded.length;
  const my = loaded.reduce((a, r) => a + r.cpuPct / 100, 0) / loaded.length;
  const slope = loaded.reduce((a, r) => a + (r.pktsPerS - mx) * (r.cpuPct / 100 - my), 0) / loaded.reduce((a, r) => a + (r.pktsPerS - mx) ** 2, 0);
  const pktsPerViewer = (PACKETS_PER_SECOND * 2500) / 2651;
  const version = JSON.parse(readFileSync(join(ndcDir, 'node_modules/node-datachannel/package.json'), 'utf8')).version as string;
  writeFileSync(join(import.meta.dirname, '../results/fanout-ndc-eval.json'), `${JSON.stringify({
    when: new Date().toISOString(), engine: `node-datachannel ${version}`, machine: { cores: cpus().length, loadavg: loadavg(), node: process.version },
    note: 'engine only: N sendonly tracks fed 1100-byte RTP at ~292 packets/s each from JS (per-viewer header + copy, as the router would); no ingest router, no werift',
    steps: rows, usPerPacket: slope * 1e6, packetsPerSecondPerCore: 1 / slope, viewersPerCoreAt2500kbps: (1 - rows[0]!.cpuPct / 100) / (slope * pktsPerViewer),
  }, null, 2)}\n`);
  console.log(`node-datachannel ${JSON.parse(readFileSync(join(ndcDir, 'node_modules/node-datachannel/package.json'), 'utf8')).version}: ${(slope * 1e6).toFixed(1)} µs per packet (slope), ${(1 / slope).toFixed(0)} packets/s per core, ~${((1 - rows[0]!.cpuPct / 100) / (slope * pktsPerViewer)).toFixed(0)} viewers per core at 2.5 Mbps (engine only, no router)`);
  receiver.send({ cmd: 'close' });
  process.exit(0);
}
