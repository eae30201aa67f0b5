/**
 * Live updates for the dashboard: one server-sent-events stream per open dashboard tab. The web
 * server polls the ingest and the transcoder about every second and pushes one `snapshot` event
 * with both (or with why one could not be reached). The session is re-checked on every tick, so an
 * expired session, a sign-out or a rotated admin token ends the stream with a `signed-out` event.
 */
import { cookies } from 'next/headers';
import { checkSessionCookie, dashboardRoute } from '../../../../lib/server/session';
import { SESSION_COOKIE } from '../../../../lib/server/session-token';
import { snapshot } from '../../../../lib/server/snapshot';

export const dynamic = 'force-dynamic';

/** Poll period, in ms. */
const TICK_MS = 1_000;

export const GET = dashboardRoute(async (request) => {
  const cookie = (await cookies()).get(SESSION_COOKIE)?.value;
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Set when the client goes away (abort or stream cancel) or the session ends: no write after it.
  let closed = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const close = () => {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        try {
          controller.close();
        } catch {
          // already closed by the client going away
        }
      };
      const write = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          close();
        }
      };
      request.signal.addEventListener('abort', close);
      write('retry: 2000\n\n');
      const tick = async () => {
        if (closed) return;
        if (!(await checkSessionCookie(cookie)).ok) {
          write('event: signed-out\ndata: {}\n\n');
          close();
          return;
        }
        const started = Date.now();
        const snap = await snapshot().catch(() => null);
        if (!snap) {
          if (!closed) timer = setTimeout(tick, TICK_MS);
          return;
        }
        write(`event: snapshot\ndata: ${JSON.stringify(snap)}\n\n`);
        if (!closed) timer = setTimeout(tick, Math.max(100, TICK_MS - (Date.now() - started)));
      };
      void tick();
    },
    cancel() {
      closed = true;
      clearTimeout(timer);
    },
  });
  return new Response(body, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' },
  });
});
