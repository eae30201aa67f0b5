import { describe, expect, it } from 'vitest';
import { readMediaPlaylist } from './soak-hls-clients';

const LIVE = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,HOLD-BACK=3.000
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-MAP:URI="init-e-0.mp4"
#EXT-X-PART:DURATION=0.20000,URI="part-e-20.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.20000,URI="part-e-21.m4s"
#EXTINF:1.00000,
seg-e-4.m4s
#EXT-X-PART:DURATION=0.20000,URI="part-e-22.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.20000,URI="part-e-23.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-e-24.m4s"
`;

describe('readMediaPlaylist, the soak LL-HLS client', () => {
  it('asks for the part after the last one listed, in the segment in progress', () => {
    expect(readMediaPlaylist(LIVE)).toEqual({ next: { msn: 5, part: 2 }, parts: ['part-e-20.m4s', 'part-e-21.m4s', 'part-e-22.m4s', 'part-e-23.m4s'], preloadHint: 'part-e-24.m4s', ended: false });
  });

  it('asks for part 0 of the next segment right after a segment closed', () => {
    const closed = LIVE.replace(/#EXT-X-PART:DURATION=0.20000,URI="part-e-2[23]\.m4s"[^\n]*\n/g, '').replace('#EXT-X-PRELOAD-HINT', '#EXTINF:1.00000,\nseg-e-5.m4s\n#EXT-X-PRELOAD-HINT');
    expect(readMediaPlaylist(closed).next).toEqual({ msn: 6, part: 0 });
  });

  it('has nothing to block on before the first part, and sees the end', () => {
    expect(readMediaPlaylist('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n').next).toBeUndefined();
    expect(readMediaPlaylist(`${LIVE}#EXT-X-ENDLIST\n`).ended).toBe(true);
  });
});
