/**
 * Serves the bench pages (bench/pages/*.ts bundled with esbuild, in memory) on a free loopback
 * port. The pages call the ingest and the HLS origin directly; both answer CORS for any origin.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { build } from 'esbuild';

export interface PageServer {
  url: string;
  close(): Promise<void>;
}

const pagesDir = resolve(import.meta.dirname, '../pages');

/** Serves `/<page>.html` for each named page of bench/pages (default: the latency bench's). */
export async function startPageServer(pages: readonly string[] = ['publisher', 'viewer']): Promise<PageServer> {
  const result = await build({
    entryPoints: Object.fromEntries(pages.map((p) => [p, resolve(pagesDir, `${p}.ts`)])),
    bundle: true,
    write: false,
    format: 'esm',
    target: 'chrome120',
    outdir: '/bundle',
    logLevel: 'error',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const files = new Map<string, Buffer>();
  for (const file of result.outputFiles) files.set(`/${file.path.split('/').pop()}`, Buffer.from(file.contents));
  for (const page of pages) {
    files.set(`/${page}.html`, Buffer.from(`<!doctype html><meta charset="utf-8"><title>onair bench ${page}</title><body style="margin:0;background:#000"><script type="module" src="/${page}.js"></script>`));
  }
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = files.get(path);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': path.endsWith('.js') ? 'text/javascript' : 'text/html', 'Cache-Control': 'no-store' }).end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
