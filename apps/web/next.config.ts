import type { NextConfig } from 'next';

const config: NextConfig = {
  // The workspace packages export TypeScript sources (no build step): Next compiles them with the
  // app. @onair/service only for server code (the /hls proxy's proof to the transcoder).
  transpilePackages: ['@onair/shared', '@onair/service'],
  reactStrictMode: true,
  poweredByHeader: false,
  // The ingest URL is runtime configuration (ONAIR_INGEST_URL), read by the route handlers that
  // proxy WHIP/WHEP and the live list; nothing about it is baked in at build time.
};

export default config;
