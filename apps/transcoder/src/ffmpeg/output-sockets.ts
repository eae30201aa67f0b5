/**
 * One Unix-socket listener per rendition; ffmpeg connects to each as its output
 * (`unix:<dir>/<id>.sock`, see command.ts for why sockets). Bytes are handed on in arrival order;
 * when a new ffmpeg connects (a restart), the previous connection of that rendition is dropped
 * so no stale tail of a dead process is interleaved with the new init segment.
 */
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

export interface RenditionByteStats {
  bytes: number;
  /** Bytes received since the previous `takeWindow()` (for bitrate). */
  windowBytes: number;
  lastDataAt: number | null;
  connections: number;
}

export class OutputSockets {
  private readonly servers = new Map<string, Server>();
  private readonly current = new Map<string, Socket>();
  private readonly stats = new Map<string, RenditionByteStats>();
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly onData: (id: string, chunk: Buffer) => void,
  ) {}

  static async open(dir: string, ids: string[], onData: (id: string, chunk: Buffer) => void): Promise<OutputSockets> {
    const sockets = new OutputSockets(dir, onData);
    try {
      for (const id of ids) await sockets.listen(id);
    } catch (error) {
      await sockets.close();
      throw error;
    }
    return sockets;
  }

  /** The URL ffmpeg writes this rendition to. */
  target(id: string): string {
    return `unix:${this.path(id)}`;
  }

  targets(): Record<string, string> {
    return Object.fromEntries([...this.servers.keys()].map((id) => [id, this.target(id)]));
  }

  statsOf(id: string): RenditionByteStats | undefined {
    return this.stats.get(id);
  }

  /** Bytes per rendition since the last call, then resets the window. */
  takeWindow(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, s] of this.stats) {
      out.set(id, s.windowBytes);
      s.windowBytes = 0;
    }
    return out;
  }

  /** Drops the current connections (the process that owned them is gone). */
  disconnectAll(): void {
    for (const socket of this.current.values()) socket.destroy();
    this.current.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.disconnectAll();
    await Promise.all([...this.servers.values()].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    await Promise.all([...this.servers.keys()].map((id) => rm(this.path(id), { force: true })));
    this.servers.clear();
  }

  private path(id: string): string {
    return join(this.dir, `${id}.sock`);
  }

  private async listen(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
    const stats: RenditionByteStats = { bytes: 0, windowBytes: 0, lastDataAt: null, connections: 0 };
    this.stats.set(id, stats);
    const server = createServer((socket) => {
      if (this.closed) {
        socket.destroy();
        return;
      }
      this.current.get(id)?.destroy();
      this.current.set(id, socket);
      stats.connections++;
      socket.on('data', (chunk: Buffer) => {
        if (this.current.get(id) !== socket) return;
        stats.bytes += chunk.length;
        stats.windowBytes += chunk.length;
        stats.lastDataAt = Date.now();
        this.onData(id, chunk);
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        if (this.current.get(id) === socket) this.current.delete(id);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path(id), () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.set(id, server);
  }
}
