/**
 * LL-HLS clients that never stop coming and going, for the soak: `size` at a time, each loading
 * the multivariant playlist, picking a rendition, and then doing what an LL-HLS player does
 * (RFC 8216bis §6.2.5.2, §4.4.5.3): a blocking playlist reload for the next part
 * (`_HLS_msn`/`_HLS_part`) beside a request for the preload-hinted part, and a GET of every part
 * the playlist newly lists. After a random stay it leaves, aborting whatever it has in flight
 * (the server must let go of blocked requests), and another takes its place.
 *
 * Any answer but 2xx, or a request that fails other than by our own abort, is an error.
 */

export interface HlsChurnOptions {
  /** `…/hls/<stream>/index.m3u8`, through the site's proxy or at the origin. */
  multivariantUrl: string;
  size: number;
  lifetimeMs: [number, number];
  /** Over how long the first `size` clients arrive (default: the shortest lifetime). */
  rampMs?: number;
  random?: () => number;
}

export interface HlsChurnStats {
  clients: number;
  playlists: number;
  parts: number;
  bytes: number;
  errors: number;
  /** A client that stayed its time without getting a single part. */
  starved: number;
  messages: string[];
}

/** What a client needs of a media playlist. */
export interface MediaPlaylistView {
  /** The segment the next part belongs to, and the index of that next part (the request to block on). */
  next: { msn: number; part: number } | undefined;
  parts: string[];
  preloadHint: string | undefined;
  ended: boolean;
}

/** Reads a media playlist for a client (pure; exported for tests). */
export function readMediaPlaylist(text: string): MediaPlaylistView {
  const lines = text.split('\n').map((line) => line.trim());
  const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  let complete = 0;
  let partsInProgress = 0;
  const parts: string[] = [];
  let preloadHint: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#EXT-X-PART:')) {
      const uri = /URI="([^"]+)"/.exec(line)?.[1];
      if (uri) parts.push(uri);
      partsInProgress += 1;
    } else if (line.startsWith('#EXTINF')) {
      complete += 1;
      partsInProgress = 0;
    } else if (line.startsWith('#EXT-X-PRELOAD-HINT:') && /TYPE=PART/.test(line)) {
      preloadHint = /URI="([^"]+)"/.exec(line)?.[1];
    }
  }
  const hasMedia = complete > 0 || parts.length > 0;
  return { next: hasMedia ? { msn: sequence + complete, part: partsInProgress } : undefined, parts, preloadHint, ended: text.includes('#EXT-X-ENDLIST') };
}

export class HlsChurn {
  private readonly opts: Required<Omit<HlsChurnOptions, 'rampMs'>> & { rampMs: number };
  private running = false;
  private readonly slots: Array<Promise<void>> = [];
  readonly stats: HlsChurnStats = { clients: 0, playlists: 0, parts: 0, bytes: 0, errors: 0, starved: 0, messages: [] };

  constructor(options: HlsChurnOptions) {
    this.opts = { random: Math.random, rampMs: options.lifetimeMs[0], ...options };
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.opts.size; i++) this.slots.push(this.slot(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.slots);
  }

  private error(message: string): void {
    this.stats.errors += 1;
    if (this.stats.messages.length < 20) this.stats.messages.push(`${new Date().toISOString()} ${message}`);
  }

  private async slot(index: number): Promise<void> {
    await delay((index * this.opts.rampMs) / this.opts.size);
    while (this.running) {
      const [min, max] = this.opts.lifetimeMs;
      await this.client(min + this.opts.random() * (max - min));
    }
  }

  /** One client's visit; never throws (errors are counted). */
  private async client(stayMs: number): Promise<void> {
    const leave = new AbortController();
    const timer = setTimeout(() => leave.abort(), stayMs);
    const stopPoll = setInterval(() => {
      if (!this.running) leave.abort();
    }, 100);
    this.stats.clients += 1;
    const seen = new Set<string>();
    let parts = 0;
    const get = async (url: URL, what: string): Promise<string | Buffer | undefined> => {
      try {
        const res = await fetch(url, { signal: AbortSignal.any([leave.signal, AbortSignal.timeout(15_000)]) });
        if (!res.ok) {
          this.error(`${what} ${url.pathname}${url.search} answered ${res.status}: ${(await res.text()).slice(0, 160)}`);
          return undefined;
        }
        const body = what === 'part' ? Buffer.from(await res.arrayBuffer()) : await res.text();
        this.stats.bytes += body.length;
        return body;
      } catch (error) {
        if (!leave.signal.aborted) this.error(`${what} ${url.pathname}${url.search} failed: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }
    };
    const fetchPart = async (url: URL) => {
      if (seen.has(url.href)) return;
      seen.add(url.href);
      const body = await get(url, 'part');
      if (body !== undefined) {
        parts += 1;
        this.stats.parts += 1;
      }
    };
    try {
      const master = new URL(this.opts.multivariantUrl);
      const text = await get(master, 'multivariant');
      if (typeof text !== 'string') return;
      const variants = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      if (variants.length === 0) return this.error('the multivariant playlist lists no rendition');
      const media = new URL(variants[Math.floor(this.opts.random() * variants.length)]!, master);
      let playlist = await get(media, 'playlist');
      // Start at the live edge: the parts listed when the client arrives are history to it.
      if (typeof playlist === 'string') for (const uri of readMediaPlaylist(playlist).parts) seen.add(new URL(uri, media).href);
      while (typeof playlist === 'string' && !leave.signal.aborted) {
        this.stats.playlists += 1;
        const view = readMediaPlaylist(playlist);
        if (view.ended) break;
        const fresh = view.parts.map((uri) => new URL(uri, media)).filter((url) => !seen.has(url.href));
        const hinted = view.preloadHint ? [fetchPart(new URL(view.preloadHint, media))] : [];
        const blocking = new URL(media);
        if (view.next) {
          blocking.searchParams.set('_HLS_msn', String(view.next.msn));
          blocking.searchParams.set('_HLS_part', String(view.next.part));
        }
        const [next] = await Promise.all([get(blocking, 'playlist'), ...fresh.map(fetchPart), ...hinted]);
        playlist = next;
      }
    } finally {
      clearTimeout(timer);
      clearInterval(stopPoll);
      if (leave.signal.aborted && parts === 0 && this.running) {
        this.stats.starved += 1;
        this.error(`a client stayed ${Math.round(stayMs)} ms without a part`);
      }
      leave.abort();
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
