/**
 * A network namespace the test owns (root only): loopback plus one end of a veth pair carrying
 * an address the test chose, so whatever runs inside sees a machine whose only non-loopback
 * address is that one — never a real LAN address. The other end stays in the root namespace, up
 * and without an address (the link needs its peer up to have carrier), so no route there changes.
 * Deleting the namespace deletes the pair.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface Netns {
  name: string;
  /** The address inside the namespace, without prefix length. */
  address: string;
  /** Runs a command inside the namespace (`ip netns exec`). */
  spawn(command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string }): ChildProcess;
  remove(): void;
}

/** The first address of the subnet when it is not the namespace's own, else the second: 10.213.0.2/24 → 10.213.0.1. */
function gatewayOf(cidr: string): string {
  const [address = ''] = cidr.split('/');
  const octets = address.split('.').map(Number);
  octets[3] = octets[3] === 1 ? 2 : 1;
  return octets.join('.');
}

export const canCreateNetns = (): boolean => process.platform === 'linux' && process.getuid?.() === 0;

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `cidr` e.g. `10.213.0.2/24`; `name` at most 15 characters minus the `-h`/`-n` suffix of its veth ends. */
export function createNetns(name: string, cidr: string): Netns {
  const hostEnd = `${name}-h`.slice(0, 15);
  const nsEnd = `${name}-n`.slice(0, 15);
  try {
    ip(['netns', 'del', name]);
  } catch {
    // not left over from an earlier run
  }
  ip(['netns', 'add', name]);
  try {
    ip(['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd]);
    ip(['link', 'set', nsEnd, 'netns', name]);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    ip(['-n', name, 'addr', 'add', cidr, 'dev', nsEnd]);
    ip(['-n', name, 'link', 'set', nsEnd, 'up']);
    ip(['link', 'set', hostEnd, 'up']);
    // A default route, as every real machine has (Firefox reports the network down without one
    // and gathers no candidates), through a gateway that exists nowhere: its address is on no
    // interface, so nothing answers ARP for it and no packet ever leaves the pair.
    ip(['-n', name, 'route', 'add', 'default', 'via', gatewayOf(cidr), 'dev', nsEnd, 'onlink']);
  } catch (error) {
    ip(['netns', 'del', name]);
    throw error;
  }
  return {
    name,
    address: cidr.split('/')[0]!,
    spawn: (command, args, options = {}) => spawn('ip', ['netns', 'exec', name, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options }),
    remove() {
      try {
        ip(['netns', 'del', name]);
      } catch {
        // already gone
      }
      try {
        ip(['link', 'del', hostEnd]);
      } catch {
        // went with the namespace
      }
    },
  };
}
