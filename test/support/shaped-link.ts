/**
 * A viewer's machine behind a link the test shapes (root only): a network namespace with loopback
 * and one end of a veth pair, the other end in the root namespace, both with addresses the test
 * chose (10.214.0.1 on the host side, 10.214.0.2 inside by default). What the host sends into the
 * namespace — a WHEP viewer's media — goes through a token bucket (`tc tbf`) on the host end,
 * whose rate the test changes while the viewer plays. Chromium runs inside through a wrapper
 * executable (`ip netns exec`), so playwright drives it over its pipe from the test process.
 * `remove()` deletes the namespace, the pair and the wrapper.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_PATH } from './browser';

export interface ShapedLink {
  name: string;
  /** The host end's address: where the ingest listens for the viewer (ONAIR_ICE_HOSTS). */
  hostAddress: string;
  /** The viewer's address inside the namespace. */
  viewerAddress: string;
  /** An executable that runs Chromium inside the namespace (for playwright's executablePath). */
  chromiumPath: string;
  /** Limits what reaches the namespace to `kbit` kbit/s (tbf, `latencyMs` of queue); replaces any earlier limit. */
  limit(kbit: number, latencyMs?: number): void;
  /** Lifts the limit. */
  unlimit(): void;
  remove(): void;
}

export const canShapeLinks = (): boolean => process.platform === 'linux' && process.getuid?.() === 0;

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quiet(command: string, args: string[]): void {
  try {
    run(command, args);
  } catch {
    // not there
  }
}

/** `name` ≤ 13 characters (its veth ends add `-h` / `-n`); `subnet` the first three octets, e.g. `10.214.0`. */
export function createShapedLink(name: string, subnet = '10.214.0'): ShapedLink {
  const hostEnd = `${name}-h`;
  const nsEnd = `${name}-n`;
  const hostAddress = `${subnet}.1`;
  const viewerAddress = `${subnet}.2`;
  quiet('ip', ['netns', 'del', name]);
  quiet('ip', ['link', 'del', hostEnd]);
  run('ip', ['netns', 'add', name]);
  const dir = mkdtempSync(join(tmpdir(), 'onair-shaped-'));
  try {
    run('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd]);
    run('ip', ['link', 'set', nsEnd, 'netns', name]);
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', name, 'addr', 'add', `${viewerAddress}/24`, 'dev', nsEnd]);
    run('ip', ['-n', name, 'link', 'set', nsEnd, 'up']);
    run('ip', ['addr', 'add', `${hostAddress}/24`, 'dev', hostEnd]);
    run('ip', ['link', 'set', hostEnd, 'up']);
    // Chromium wants a default route to believe the network is up; the host end is the only way out.
    run('ip', ['-n', name, 'route', 'add', 'default', 'via', hostAddress, 'dev', nsEnd]);
  } catch (error) {
    quiet('ip', ['netns', 'del', name]);
    quiet('ip', ['link', 'del', hostEnd]);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const chromiumPath = join(dir, 'chromium-in-netns');
  writeFileSync(chromiumPath, `#!/bin/sh\nexec ip netns exec ${name} ${CHROMIUM_PATH} "$@"\n`);
  chmodSync(chromiumPath, 0o755);
  return {
    name,
    hostAddress,
    viewerAddress,
    chromiumPath,
    limit(kbit, latencyMs = 200) {
      // Burst: at least one MTU and ~20 ms of the rate, what a link's token bucket allows.
      const burstBytes = Math.max(3000, Math.round((kbit * 1000 * 0.02) / 8));
      run('tc', ['qdisc', 'replace', 'dev', hostEnd, 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', String(burstBytes), 'latency', `${latencyMs}ms`]);
    },
    unlimit() {
      quiet('tc', ['qdisc', 'del', 'dev', hostEnd, 'root']);
    },
    remove() {
      quiet('ip', ['netns', 'del', name]);
      quiet('ip', ['link', 'del', hostEnd]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The scenario the shaped-link e2e (test/e2e/adaptive-renditions.test.ts) and bench/renditions.ts
 * share: a 640×360 source at a constant bitrate (noise keeps x264 at it) and two rungs under it,
 * at 15 fps (half the encoding and decoding of 30 for the same bitrates: the services and the
 * browsers share 2 cores).
 */
export const SHAPED_SCENARIO_FPS = 15;
export const SHAPED_SCENARIO_LAVFI = `testsrc2=size=640x360:rate=${SHAPED_SCENARIO_FPS},noise=alls=24:allf=t`;
export function shapedScenarioProfile(name: string, description: string) {
  return {
    name,
    description,
    gopSeconds: 1,
    rungs: [
      { name: '360p', width: 640, height: 360, maxFps: SHAPED_SCENARIO_FPS, videoKbps: 600, preset: 'ultrafast' },
      { name: '180p', width: 320, height: 180, maxFps: SHAPED_SCENARIO_FPS, videoKbps: 200, preset: 'ultrafast' },
    ],
  };
}
