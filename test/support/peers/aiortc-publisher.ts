/**
 * Runs the python3-aiortc WHIP publisher (aiortc_whip_publisher.py) as a child process:
 * `session` resolves with the WHIP session URL once the answer is applied, and rejects if the
 * publisher exits first (with everything it printed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const SCRIPT = resolve(import.meta.dirname, 'aiortc_whip_publisher.py');

export interface AiortcPublisher {
  child: ChildProcess;
  session: Promise<string>;
  output: string[];
  /** SIGTERM: the publisher DELETEs its session and exits. */
  stop(): void;
}

export function startAiortcPublisher(whipUrl: string, streamKey: string, extraArgs: string[] = []): AiortcPublisher {
  const child = spawn('/usr/bin/python3', [SCRIPT, whipUrl, streamKey, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const session = new Promise<string>((resolveSession, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (line.startsWith('PUBLISHING ')) resolveSession(line.slice('PUBLISHING '.length));
    });
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`aiortc publisher exited with ${code}:\n${output.join('\n')}`)));
  });
  session.catch(() => {}); // a caller that never awaits it must not crash the run
  return { child, session, output, stop: () => child.kill('SIGTERM') };
}
