import { describe, expect, it } from 'vitest';
import { buildLadder } from './ladder';

const renditions = [
  { name: '360p', kbps: 800 },
  { name: '720p', kbps: 2800 },
  { name: '480p', kbps: 1400 },
];

describe('buildLadder', () => {
  it.each([
    ['a 720p source at 2.5 Mbit/s: the 720p rung saves nothing and is left out', 2500, undefined, ['source 2564', '480p 1464', '360p 864']],
    ['a source not measured yet: every rendition, by bitrate, the source priced as the dearest', 0, undefined, ['source 2864', '720p 2864', '480p 1464', '360p 864']],
    ['a 1 Mbit/s source: only 360p saves enough', 1000, undefined, ['source 1064', '360p 864']],
    ['…but where the viewer is now stays on it', 1000, '480p', ['source 1064', '480p 1464', '360p 864']],
  ])('%s', (_name, sourceKbps, keep, expected) => {
    expect(buildLadder({ sourceKbps, audioKbps: 64, renditions, keep }).map((r) => `${r.name} ${r.kbps}`)).toEqual(expected);
  });

  it('leaves the source out for a viewer that cannot be served it (a VP8 viewer of an H.264 source)', () => {
    const vp8 = [{ name: '360p-vp8', kbps: 500 }];
    expect(buildLadder({ sourceKbps: 2500, audioKbps: 64, renditions: vp8, keep: '360p-vp8', sourcePlayable: false }).map((r) => r.name)).toEqual(['360p-vp8']);
  });
});
