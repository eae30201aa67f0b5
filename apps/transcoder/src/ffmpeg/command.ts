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
import ffmpeg from 'fluent-ffmpeg';
import type { FfmpegPlan } from './build-args';

export type FfmpegCommand = ffmpeg.FfmpegCommand;

export function toFluentCommand(plan: FfmpegPlan, ffmpegPath: string): FfmpegCommand {
  const command = ffmpeg({ stdoutLines: 50 }).setFfmpegPath(ffmpegPath);
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
