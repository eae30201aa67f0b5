import { defineConfig } from 'vitest/config';

/**
 * Three projects, run in this order by `npm test`:
 * - unit: pure code beside its source (`*.test.ts`, also the bench's pure parts), fast, no network.
 * - integration: `*.int.test.ts` — real servers on free loopback ports, real WebRTC peers, real ffmpeg.
 * - e2e: `test/e2e/**` — the real apps driven through headless Chromium and python3-aiortc.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{apps,packages}/*/src/**/*.test.ts', 'apps/web/lib/**/*.test.ts', 'apps/web/server/**/*.test.ts', 'bench/lib/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{apps,packages}/*/src/**/*.int.test.ts', 'apps/web/server/**/*.int.test.ts', 'test/integration/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Real media on 2 cores: files run one after another so timings stay meaningful.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
