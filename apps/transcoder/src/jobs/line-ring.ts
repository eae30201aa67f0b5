/** The last N lines of a process's log, for the dashboard (bounded: a chatty ffmpeg cannot grow it). */
export class LineRing {
  private readonly lines: string[] = [];
  private dropped = 0;

  constructor(private readonly capacity: number) {}

  /** Lines pushed since construction (a position to ask `since()` about later). */
  total = 0;

  push(line: string): void {
    this.total++;
    this.lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
    if (this.lines.length > this.capacity) {
      this.lines.shift();
      this.dropped++;
    }
  }

  /** The last `limit` lines (all kept lines by default), oldest first. */
  last(limit = this.capacity): string[] {
    return this.lines.slice(Math.max(0, this.lines.length - limit));
  }

  /** Kept lines pushed after position `total` (as read from `total` earlier). */
  since(total: number): string[] {
    const count = Math.min(this.lines.length, Math.max(0, this.total - total));
    return this.lines.slice(this.lines.length - count);
  }

  /** Lines pushed out of the ring so far. */
  get droppedCount(): number {
    return this.dropped;
  }
}
