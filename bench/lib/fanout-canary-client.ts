/**
 * bench/fanout.ts's handle on the canary process (bench/lib/fanout-canary.ts): IPC calls with
 * deadlines, so a hung browser costs the bench a missing canary figure, not the run. Per step,
 * `take()` at the step's start (frames shown while viewers joined) and at each window's end.
 */
import type { ChildProcess } from 'node:child_process';
import type { CanaryInboundStats } from './fanout-canary';
import type { CanaryWindow } from './fanout-canary-latency';

export interface CanaryTake {
  window: CanaryWindow;
  stats: CanaryInboundStats | null;
  connection: string;
  withoutRtp: number;
  /** CPU jiffies of the canary process and its Chromium so far. */
  cpuTicks: number;
}

export class CanaryClient {
  private constructor(private readonly child: ChildProcess) {}

  /** Waits for the process's `ready` (browser launched, page loaded). */
  static async attach(child: ChildProcess, timeoutMs = 30_000): Promise<CanaryClient> {
    const client = new CanaryClient(child);
    await client.reply('ready', timeoutMs);
    return client;
  }

  private reply<T>(cmd: string, timeoutMs: number, send?: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.child.off('message', onMessage); reject(new Error(`canary: no ${cmd} within ${timeoutMs} ms`)); }, timeoutMs);
      const onMessage = (m: { cmd: string }) => {
        if (m.cmd !== cmd && !(cmd === 'started' && m.cmd === 'failed')) return;
        clearTimeout(timer);
        this.child.off('message', onMessage);
        if (m.cmd === 'failed') reject(new Error(`canary: ${(m as { error?: string }).error}`));
        else resolve(m as T);
      };
      this.child.on('message', onMessage);
      if (send) this.child.send(send);
    });
  }

  /** Plays the stream; resolves once the first frame is displayed. */
  start(whepUrl: string, freezeMs: number): Promise<{ firstFrameMs: number }> {
    return this.reply('started', 20_000, { cmd: 'start', whepUrl, freezeMs });
  }

  /** Frames since the last take, folded through the session's tracker; null if the canary did not answer. */
  async take(timeoutMs = 5000): Promise<CanaryTake | null> {
    try {
      const m = await this.reply<CanaryTake & { error?: string }>('taken', timeoutMs, { cmd: 'take' });
      if (m.error) {
        console.error(`canary: ${m.error}`);
        return null;
      }
      return m;
    } catch (error) {
      console.error(String(error));
      return null;
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ cmd: 'close' });
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
}
