/**
 * One on-demand VP8 rendition of a stream (ffmpeg/vp8-args.ts): a forward of the stream from the
 * ingest (IngestInput), a VP8 rendition set announced to the ingest, and one ffmpeg between them.
 * It runs while the ingest says a viewer needs VP8 (on-demand-renditions.ts decides when).
 *
 * Like a ladder job, it asks the forward for a keyframe once ffmpeg has bound its ports (the
 * publisher's keyframe that came before is replayed), so the first VP8 keyframe follows within a
 * decode. An ffmpeg that dies while wanted is started again (at most `maxRestarts` times, 1 s
 * apart); ffmpeg dies with the transcoder (setpriv --pdeathsig, as in ffmpeg/command.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@onair/service/logger';
import { boundUdpPorts } from '../ffmpeg/proc-stats';
import { planVp8Rendition, vp8Args, type Vp8Rendition } from '../ffmpeg/vp8-args';
import type { IngestClient } from '../ingest-client';
import type { InputSource } from './input-source';

const SETPRIV = '/usr/bin/setpriv';
/** How long ffmpeg gets to bind its input ports before the keyframe is asked for anyway, ms. */
const BIND_WAIT_MS = 3000;

export interface Vp8RenditionJobOptions {
  streamId: string;
  input: InputSource;
  client: Pick<IngestClient, 'createRenditions' | 'deleteRenditions'>;
  ffmpegPath: string;
  log: Logger;
  /** The ingest's address the RTP goes to. */
  host?: string;
  maxRestarts?: number;
}

export class Vp8RenditionJob {
  private child: ChildProcess | undefined;
  private setId: string | undefined;
  private dir: string | undefined;
  private stopping = false;
  private restarts = 0;
  private args: string[] = [];
  private inputPorts: number[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly stderr: string[] = [];
  rendition: Vp8Rendition | undefined;

  constructor(private readonly options: Vp8RenditionJobOptions) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && !this.stopping;
  }

  async start(): Promise<void> {
    const { streamId, input, client, log } = this.options;
    try {
      const opening = await input.open();
      this.dir = await mkdtemp(join(tmpdir(), 'onair-vp8-'));
      const sdpPath = join(this.dir, 'input.sdp');
      await writeFile(sdpPath, opening.sdp.endsWith('\n') ? opening.sdp : `${opening.sdp}\n`, { mode: 0o600 });
      this.inputPorts = [...opening.sdp.matchAll(/^m=\w+ (\d+) /gm)].map((m) => Number(m[1]));
      const rendition = planVp8Rendition(opening.hints ?? {});
      this.rendition = rendition;
      const answer = await client.createRenditions(streamId, { codec: 'VP8', renditions: [rendition], audio: false, host: this.options.host ?? '127.0.0.1', ...(input.forward ? { forward: input.forward } : {}) });
      this.setId = answer.id;
      if (this.stopping) return;
      this.args = vp8Args({ sdpPath, rendition, rtp: { host: answer.host, port: answer.port, payloadType: answer.video.payloadType, ssrc: answer.renditions[0]!.ssrc } });
      log.info({ streamId, rendition, port: answer.port }, 'VP8 rendition starting');
      this.spawn();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private spawn(): void {
    const { ffmpegPath, log } = this.options;
    const wrapped = process.platform === 'linux' && existsSync(SETPRIV);
    const child = wrapped ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', ffmpegPath, ...this.args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(ffmpegPath, this.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      for (const line of text.split('\n')) if (line.trim()) this.stderr.push(line);
      this.stderr.splice(0, Math.max(0, this.stderr.length - 20));
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      const max = this.options.maxRestarts ?? 3;
      log.warn({ code, signal, restarts: this.restarts, lastLines: this.stderr.slice(-5) }, 'VP8 rendition ffmpeg exited');
      if (this.restarts >= max) return;
      this.restarts += 1;
      this.retryTimer = setTimeout(() => this.spawn(), 1000);
      this.retryTimer.unref();
    });
    child.once('error', (error) => log.warn({ err: error }, 'VP8 rendition ffmpeg could not start'));
    void this.keyframeWhenBound(child);
  }

  /** Asks the forward for a keyframe once ffmpeg listens on the SDP's ports (bounded wait). */
  private async keyframeWhenBound(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + BIND_WAIT_MS;
    while (Date.now() < deadline && this.child === child && !this.stopping) {
      if ((await boundUdpPorts(this.inputPorts)).size === this.inputPorts.length) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (this.child !== child || this.stopping) return;
    await this.options.input.requestKeyframe?.().catch((error: unknown) => this.options.log.warn({ err: error }, 'keyframe request for the VP8 rendition failed'));
  }

  /** Ends ffmpeg, the rendition set and the forward. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    const setId = this.setId;
    this.setId = undefined;
    if (setId) await this.options.client.deleteRenditions(this.options.streamId, setId).catch(() => undefined);
    await this.options.input.close();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
