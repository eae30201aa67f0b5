/**
 * An ffmpeg plan as a fluent-ffmpeg command. fluent-ffmpeg spawns the process, finds the binary
 * (`setFfmpegPath`), checks the muxers exist, and gives us `kill()` and the child process.
 *
 * Why the rungs' outputs are Unix-socket URLs (`unix:/…/720p.sock`) rather than extra stdio
 * pipes: fluent-ffmpeg's `run()` spawns with fixed spawn options (no `stdio` array), so `pipe:3`,
 * `pipe:4`… are not reachable without re-implementing its spawn. Unix sockets keep one listener
 * per rung (the connection tells which rung it is), need no port allocation (unlike
 * `tcp://127.0.0.1:port`, which any local user could also connect to), live in a 0700 temp
 * directory, and survive an ffmpeg restart (the next process simply connects again). Named
 * pipes would block a libuv thread on open and break when ffmpeg dies mid-write.
 */
import { existsSync } from 'node:fs';
import ffmpeg from 'fluent-ffmpeg';
import type { FfmpegPlan } from './build-args';

export type FfmpegCommand = ffmpeg.FfmpegCommand;

/** util-linux's setpriv (Debian's essential `util-linux`), for PR_SET_PDEATHSIG. */
const SETPRIV = '/usr/bin/setpriv';

/**
 * Makes `command`'s ffmpeg die with the transcoder: it is started through `setpriv
 * --pdeathsig KILL`, so the kernel kills it when this process ends however it ends. Without
 * it, a transcoder killed with SIGKILL (OOM, kill -9, a crash in native code) left its ffmpeg
 * running, holding the RTP ports and the CPU with nobody reading its output — waiting for
 * input that a restarted transcoder's forward never sends it (it never writes progress to the
 * dead parent's pipe, so no EPIPE ends it either). fluent-ffmpeg resolves the binary itself, so
 * the wrapper goes in where its own `nice` wrapper does (`_spawnFfmpeg`), for every spawn of the
 * command (the capability probes too, which then run through setpriv as well).
 */
function dieWithParent(command: FfmpegCommand, ffmpegPath: string): FfmpegCommand {
  if (process.platform !== 'linux' || !existsSync(SETPRIV)) return command;
  const internal = command as unknown as { _spawnFfmpeg(args: string[], ...rest: unknown[]): unknown };
  const spawnFfmpeg = internal._spawnFfmpeg;
  internal._spawnFfmpeg = function (this: unknown, args: string[], ...rest: unknown[]) {
    return spawnFfmpeg.call(this, ['--pdeathsig', 'KILL', '--', ffmpegPath, ...args], ...rest);
  };
  return command.setFfmpegPath(SETPRIV);
}

export function toFluentCommand(plan: FfmpegPlan, ffmpegPath: string): FfmpegCommand {
  const command = dieWithParent(ffmpeg({ stdoutLines: 50 }).setFfmpegPath(ffmpegPath), ffmpegPath);
  command.input(plan.input);
  // Variadic form: fluent-ffmpeg would otherwise split an "opt value" string on its space.
  command.inputOptions(...(plan.inputOptions as [string, ...string[]]));
  if (plan.filterComplex) command.complexFilter(plan.filterComplex);
  for (const output of plan.outputs) {
    command.output(output.target);
    command.outputOptions(...(output.options as [string, ...string[]]));
  }
  return command;
}

/** The argument list fluent-ffmpeg will pass to ffmpeg (uses its private builder; pinned by a test). */
export function fluentArgs(command: FfmpegCommand): string[] {
  return (command as unknown as { _getArguments(): string[] })._getArguments();
}

/**
 * fluent-ffmpeg checks the muxers and encoders a command uses by running `ffmpeg -formats` and
 * `-encoders` once per process (~250 ms measured here). Doing it at service start keeps that off
 * the first stream's time to first segment. Failures are ignored (healthz reports ffmpeg).
 */
export function warmUpFluent(ffmpegPath: string): Promise<void> {
  const command = ffmpeg().setFfmpegPath(ffmpegPath);
  return new Promise((resolve) => {
    command.getAvailableFormats(() => command.getAvailableEncoders(() => resolve()));
  });
}
