/**
 * Runs the embedded default: ingest, transcoder and web as child processes sharing one data
 * directory and admin token. Prints where to go once every service reports healthy; a service
 * that dies is restarted with backoff; Ctrl-C stops everything cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { resolveAdminToken } from '@onair/service/admin-token';

const root = resolve(import.meta.dirname, '..');
const dataDir = resolve(root, process.env.ONAIR_DATA_DIR ?? '.data');
const admin = resolveAdminToken(dataDir, process.env.ONAIR_ADMIN_TOKEN);
const ingestPort = Number(process.env.ONAIR_INGEST_PORT ?? 8080);
const transcoderPort = Number(process.env.ONAIR_TRANSCODER_PORT ?? 8090);
const webPort = Number(process.env.ONAIR_WEB_PORT ?? 3000);
const host = (name: string) => process.env[name] ?? '127.0.0.1';
const urlOf = (h: string, port: number) => `http://${h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h}:${port}`;
const ingestUrl = urlOf(host('ONAIR_INGEST_HOST'), ingestPort);
const transcoderUrl = urlOf(host('ONAIR_TRANSCODER_HOST'), transcoderPort);
const webUrl = urlOf(host('ONAIR_WEB_HOST'), webPort);

const env: NodeJS.ProcessEnv = {
  ...process.env,
  ONAIR_DATA_DIR: dataDir,
  ONAIR_ADMIN_TOKEN: admin.token,
  ONAIR_INGEST_URL: ingestUrl,
  ONAIR_TRANSCODER_URL: transcoderUrl,
  ONAIR_WEB_PUBLIC_URL: process.env.ONAIR_WEB_PUBLIC_URL ?? webUrl,
  NEXT_TELEMETRY_DISABLED: '1',
};

interface ServiceSpec {
  name: string;
  command: string[];
  cwd: string;
  healthUrl: string;
}

const services: ServiceSpec[] = [
  { name: 'ingest', command: [process.execPath, '--disable-warning=ExperimentalWarning', '--import', 'tsx', 'apps/ingest/src/main.ts'], cwd: root, healthUrl: `${ingestUrl}/healthz` },
  ...(existsSync(resolve(root, 'apps/transcoder/src/main.ts'))
    ? [{ name: 'transcoder', command: [process.execPath, '--disable-warning=ExperimentalWarning', '--import', 'tsx', 'apps/transcoder/src/main.ts'], cwd: root, healthUrl: `${transcoderUrl}/healthz` }]
    : []),
  {
    name: 'web',
    // onair's server around Next's handler (timeouts, connection caps, trusted proxies): apps/web/server/main.ts.
    command: [process.execPath, '--disable-warning=ExperimentalWarning', '--import', 'tsx', 'server/main.ts'],
    cwd: resolve(root, 'apps/web'),
    healthUrl: webUrl,
  },
];

const children = new Map<string, ChildProcess>();
let stopping = false;

function run(spec: ServiceSpec, attempt = 0): void {
  const child = spawn(spec.command[0]!, spec.command.slice(1), { cwd: spec.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.set(spec.name, child);
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => console.log(formatLine(spec.name, line)));
  }
  const startedAt = Date.now();
  child.on('exit', (code, signal) => {
    children.delete(spec.name);
    if (stopping) return;
    // A service that ran for a while gets a fresh backoff; one that keeps dying backs off to 30 s.
    const nextAttempt = Date.now() - startedAt > 60_000 ? 0 : attempt + 1;
    const delay = Math.min(30_000, 500 * 2 ** nextAttempt);
    console.log(formatLine(spec.name, `exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`));
    setTimeout(() => !stopping && run(spec, nextAttempt), delay).unref();
  });
}

const levels: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const skipKeys = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name', 'service']);

/** pino JSON → `service level message key=value`, readable in a terminal. Other lines pass through. */
function formatLine(service: string, line: string): string {
  const tag = `\x1b[2m${service.padEnd(10)}\x1b[0m`;
  if (!line.startsWith('{')) return `${tag} ${line}`;
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(record)
      .filter(([key]) => !skipKeys.has(key))
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    return `${tag} ${levels[record.level as number] ?? record.level} ${record.msg ?? ''} ${extra}`;
  } catch {
    return `${tag} ${line}`;
  }
}

async function waitHealthy(spec: ServiceSpec, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      const res = await fetch(spec.healthUrl, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function printWelcome(): Promise<void> {
  let demoKey: string | undefined;
  try {
    const res = await fetch(`${ingestUrl}/api/streams/demo`, { headers: { Authorization: `Bearer ${admin.token}` } });
    if (res.ok) demoKey = ((await res.json()) as { streamKey: string }).streamKey;
  } catch {
    // the banner still helps without it
  }
  let webTransportUrl: string | undefined;
  try {
    const res = await fetch(`${ingestUrl}/api/webtransport`);
    if (res.ok) webTransportUrl = ((await res.json()) as { url: string }).url;
  } catch {
    // WebTransport off or the ingest not answering: the line is left out
  }
  const lines = [
    '',
    '  onair is running',
    '',
    `  Watch          ${webUrl}`,
    `  Dashboard      ${webUrl}/dashboard`,
    `  Admin token    ${admin.token}${admin.generated ? '   (generated now; kept in ' + dataDir + '/admin-token)' : ''}`,
    '',
    ...(demoKey
      ? [
          `  Stream "demo"  key ${demoKey}`,
          `  Go live here   ${webUrl}/broadcast?key=${demoKey}`,
          `  Or from OBS    Settings → Stream → Service: WHIP`,
          `                 Server: ${ingestUrl}/whip   Bearer Token: ${demoKey}`,
          ...(webTransportUrl ? [`  Or over MoQ    ${webTransportUrl}?key=${demoKey}  (WebTransport; hashes: ${webUrl}/api/webtransport)`] : []),
          `  Then watch     ${webUrl}/watch/demo`,
        ]
      : ['  Create a stream from the dashboard to go live.']),
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
}

async function stopAll(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\nonair stopping (${signal})…`);
  const exits = [...children.values()].map((child) => new Promise<void>((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
  }));
  const force = setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
  }, 8_000);
  await Promise.all(exits);
  clearTimeout(force);
  process.exit(0);
}

process.on('SIGINT', () => void stopAll('SIGINT'));
process.on('SIGTERM', () => void stopAll('SIGTERM'));

for (const spec of services) run(spec);
const healthy = await Promise.all(services.map(async (spec) => [spec.name, await waitHealthy(spec)] as const));
const unhealthy = healthy.filter(([, ok]) => !ok).map(([name]) => name);
if (unhealthy.length > 0) console.log(`onair: not healthy yet: ${unhealthy.join(', ')} (see the logs above)`);
await printWelcome();
