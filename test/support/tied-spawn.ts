/**
 * spawn() for helper processes a test starts (ffmpeg sources, peers): wrapped in util-linux's
 * `setpriv --pdeathsig KILL` so the kernel kills them when the test process ends however it ends.
 * A test that threw before its cleanup left `ffmpeg -re` sources running for half an hour, each
 * taking CPU from the tests after it.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export function spawnTied(command: string, args: string[], options: SpawnOptions): ChildProcess {
  return spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], options);
}
