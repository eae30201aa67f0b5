/**
 * CPU cost of onair's HTTP/3 WebTransport server (apps/ingest/src/webtransport) on the receive
 * path a WebTransport publisher uses: the server runs in a child process (its CPU is read from
 * process.cpuUsage() over IPC), a Node quiche client in this one sends.
 *
 *   npx tsx bench/webtransport.ts            ~20 s
 *   npx tsx bench/webtransport.ts --out=/tmp/wt.json
 *
 * Phases:
 * - bulk: 64 MiB over one unidirectional stream → server CPU ms per MiB, MiB/s.
 * - streams: 2000 unidirectional streams of 200 bytes (an Opus frame per group, as @moq/lite's
 *   audio does), up to 50 open at once → server µs per stream.
 * - publisher: 10 s of what one 720p moq publisher sends (video: a stream per 1 s group, 30 writes
 *   of 4.2 KiB ≈ 1 Mbit/s; audio: 50 streams/s of 200 bytes) → server % of a core.
 * The server reads every stream to its end through the W3C adapter, as the MoQ ingest does.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));

if (process.argv[2] === 'server') {
  const { generateCertificate } = await import('../apps/ingest/src/webtransport/certificates');
  const { createWebTransportServer } = await import('../apps/ingest/src/webtransport/server');
  const certificate = await generateCertificate({ hosts: ['127.0.0.1'] });
  const server = createWebTransportServer({ port: 0, certificate, paths: ['/bench'], authorize: () => ({ status: 200 }) });
  server.on('session', (session) => {
    void (async () => {
      const streams = session.incomingUnidirectionalStreams.getReader();
      for (let next = await streams.read(); !next.done; next = await streams.read()) {
        void (async () => {
          const reader = (next.value as ReadableStream<Uint8Array>).getReader();
          while (!(await reader.read()).done);
        })().catch(() => {});
      }
    })().catch(() => {});
  });
  const { port } = await server.listen();
  process.on('message', (message: { type: string }) => {
    if (message.type === 'cpu') process.send!({ type: 'cpu', cpu: process.cpuUsage(), stats: server.getStats() });
    if (message.type === 'exit') void server.close().then(() => process.exit(0));
  });
  process.send!({ type: 'ready', port, sha256: certificate.sha256 });
} else {
  const { connectWebTransport } = await import('../apps/ingest/src/webtransport/quiche-client');
  const out = process.argv.find((arg) => arg.startsWith('--out='))?.slice(6) ?? 'bench/results/webtransport.json';
  const profile = process.env.WT_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.WT_BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', self, 'server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>(type: string) => new Promise<T>((resolve) => child.on('message', function listener(message: { type: string }) {
    if (message.type !== type) return;
    child.off('message', listener);
    resolve(message as T);
  }));
  const cpu = async () => {
    child.send({ type: 'cpu' });
    const reply = await next<{ cpu: NodeJS.CpuUsage; stats: unknown }>('cpu');
    return { ms: (reply.cpu.user + reply.cpu.system) / 1000, at: performance.now(), stats: reply.stats };
  };
  const { port, sha256 } = await next<{ port: number; sha256: string }>('ready');
  const wt = await connectWebTransport(`https://127.0.0.1:${port}/bench`, { serverCertificateHashes: [sha256] });
  const MiB = 1024 * 1024;

  // Bulk.
  const bulkBytes = 64 * MiB;
  const chunk = new Uint8Array(16 * 1024).map((_, i) => i & 0xff);
  let before = await cpu();
  const stream = await wt.createUnidirectionalStream();
  const writer = stream.getWriter();
  for (let sent = 0; sent < bulkBytes; sent += chunk.length) await writer.write(chunk);
  await writer.close();
  // The server has read it all once its stream count is back to 0.
  for (let stats = (await cpu()).stats as { streams: number }; stats.streams > 0; stats = (await cpu()).stats as { streams: number }) await new Promise((r) => setTimeout(r, 20));
  let after = await cpu();
  const bulk = { MiB: bulkBytes / MiB, seconds: (after.at - before.at) / 1000, serverCpuMs: after.ms - before.ms };
  const bulkResult = { ...bulk, MiBps: +(bulk.MiB / bulk.seconds).toFixed(1), serverCpuMsPerMiB: +(bulk.serverCpuMs / bulk.MiB).toFixed(1) };
  console.log('bulk', bulkResult);

  // Many short streams.
  const count = 2000;
  const frame = new Uint8Array(200).fill(7);
  before = await cpu();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < count; i++) {
    const sending = (async () => {
      const group = (await wt.createUnidirectionalStream()).getWriter();
      await group.write(frame);
      await group.close();
    })();
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
    if (inFlight.size >= 50) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  for (let stats = (await cpu()).stats as { streams: number }; stats.streams > 0; stats = (await cpu()).stats as { streams: number }) await new Promise((r) => setTimeout(r, 20));
  after = await cpu();
  const streamsResult = { streams: count, seconds: +((after.at - before.at) / 1000).toFixed(2), streamsPerSecond: Math.round(count / ((after.at - before.at) / 1000)), serverCpuUsPerStream: Math.round(((after.ms - before.ms) * 1000) / count) };
  console.log('streams', streamsResult);

  // One publisher's worth, paced, for 10 s.
  before = await cpu();
  const started = performance.now();
  const videoFrame = new Uint8Array(4300).fill(1);
  const tasks: Array<Promise<void>> = [];
  for (let second = 0; second < 10; second++) {
    tasks.push((async () => {
      await sleepUntil(started + second * 1000);
      const group = (await wt.createUnidirectionalStream()).getWriter();
      for (let f = 0; f < 30; f++) {
        await sleepUntil(started + second * 1000 + f * 33.3);
        await group.write(videoFrame);
      }
      await group.close();
    })());
  }
  for (let a = 0; a < 500; a++) {
    await sleepUntil(started + a * 20);
    tasks.push((async () => {
      const group = (await wt.createUnidirectionalStream()).getWriter();
      await group.write(frame);
      await group.close();
    })());
  }
  await Promise.all(tasks);
  after = await cpu();
  const publisher = { seconds: +((after.at - before.at) / 1000).toFixed(1), serverCorePercent: +((100 * (after.ms - before.ms)) / (after.at - before.at)).toFixed(1) };
  console.log('publisher (1 Mbit/s video groups + 50 audio streams/s)', publisher);

  wt.close();
  child.send({ type: 'exit' });
  const result = {
    bench: 'webtransport',
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((v) => +v.toFixed(2)) },
    bulk: bulkResult,
    streams: streamsResult,
    publisher,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`written to ${out}`);
}
