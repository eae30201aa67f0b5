/**
 * Serves test pages (test/support/pages/*.ts bundled with esbuild, in memory) from a free
 * loopback port: `http://127.0.0.1` is a secure context, which WebCodecs and WebTransport need.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { build } from 'esbuild';

export interface TestPageServer {
  url: string;
  close(): Promise<void>;
}

export async function serveTestPage(page: string): Promise<TestPageServer> {
  const result = await build({
    entryPoints: [resolve(import.meta.dirname, 'pages', `${page}.ts`)],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'chrome120',
    logLevel: 'error',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const script = Buffer.from(result.outputFiles[0]!.contents);
  const html = Buffer.from(`<!doctype html><meta charset="utf-8"><title>${page}</title><body><script type="module" src="/${page}.js"></script>`);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === `/${page}.js`) res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
    else if (path === '/') res.writeHead(200, { 'Content-Type': 'text/html' }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
