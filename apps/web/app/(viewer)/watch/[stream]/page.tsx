import type { Metadata } from 'next';
import { headers } from 'next/headers';
import { notFound } from 'next/navigation';
import { streamNameSchema } from '@onair/shared/api';
import { WatchView } from '../../../../components/watch-view';
import { hlsPublicBase } from '../../../../lib/hls-url';
import { parseModePreference } from '../../../../lib/playback-fallback';
import { watchPageEarlyWhepScript } from '../../../../lib/early-whep';

type Props = { params: Promise<{ stream: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> };

async function streamName(params: Props['params']): Promise<string | null> {
  const { stream } = await params;
  const parsed = streamNameSchema.safeParse(decodeURIComponent(stream));
  return parsed.success ? parsed.data : null;
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const name = await streamName(params);
  return { title: name ? `${name} (live)` : 'Not found' };
}

export default async function WatchPage({ params, searchParams }: Props) {
  const name = await streamName(params);
  if (!name) notFound();
  // `?mode=hls|webrtc` pins a delivery; ONAIR_HLS_PUBLIC_URL (read per request, server-side, so
  // a deployment can point viewers at its CDN without a rebuild) says where HLS is served.
  const preference = parseModePreference((await searchParams).mode);
  const hlsBase = hlsPublicBase();
  // The WHEP offer goes out from this inline script as soon as the browser parses it, and the
  // stream plays on the server-rendered <video>, while the page's bundle is still loading; the
  // player adopts the session when it mounts (@onair/shared/whep-early).
  // Its nonce is this response's (proxy.ts): the CSP allows no other inline script.
  // `type="module" async`: a classic inline script waits for the stylesheets above it (a
  // parser-blocking script must see the CSSOM); an async module runs as soon as it is parsed.
  const nonce = (await headers()).get('x-nonce') ?? undefined;
  return (
    <main className="page">
      {preference !== 'hls' && <script type="module" async nonce={nonce} suppressHydrationWarning dangerouslySetInnerHTML={{ __html: watchPageEarlyWhepScript(name) }} />}
      {/* key: a different stream gets a fresh player (new session, fresh state). */}
      <WatchView key={name} stream={name} preference={preference} hlsBase={hlsBase} />
    </main>
  );
}
