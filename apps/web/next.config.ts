import type { NextConfig } from 'next';

const config: NextConfig = {
  // @onair/shared exports TypeScript sources (no build step): Next compiles them with the app.
  transpilePackages: ['@onair/shared'],
  reactStrictMode: true,
  poweredByHeader: false,
  // The ingest URL is runtime configuration (ONAIR_INGEST_URL), read by the route handlers that
  // proxy WHIP/WHEP and the live list; nothing about it is baked in at build time.
};

export default config;
