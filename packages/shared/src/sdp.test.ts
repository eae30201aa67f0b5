import { describe, expect, it } from 'vitest';
import { aiortcOffer, chromeOffer, firefoxWhepOffer, firefoxWhipOffer, obsOffer } from './fixtures/sdp-offers';
import { bundleOnlyAsBundled, h264Profile, parseOffer, parseSdp, parseTrickleFragment, restrictOffer, SdpError, selectPublisherCodecs, selectViewerCodecs } from './sdp';

describe('parseOffer + selectPublisherCodecs', () => {
  const good: Array<{ name: string; sdp: string; video: [string, number] | undefined; audio: number | undefined }> = [
    { name: 'Chrome (many H.264 profiles, RTX)', sdp: chromeOffer, video: ['H264', 106], audio: 111 },
    { name: 'OBS (session-level ICE credentials)', sdp: obsOffer, video: ['H264', 96], audio: 111 },
    { name: 'aiortc (video only, LF endings)', sdp: aiortcOffer, video: ['H264', 101], audio: undefined },
    { name: 'VP8 only', sdp: chromeOffer.replace(/ 102 103 104 105 106 107 108 109 127 125 39 40 45 46/, ''), video: ['VP8', 96], audio: 111 },
    { name: 'only packetization-mode=0 H.264 → VP8', sdp: chromeOffer.replace(/packetization-mode=1/g, 'packetization-mode=0'), video: ['VP8', 96], audio: 111 },
  ];
  it.each(good)('$name', ({ sdp, video, audio }) => {
    const chosen = selectPublisherCodecs(parseOffer(sdp));
    expect(chosen.video && [chosen.video.codec.name, chosen.video.codec.payloadType]).toEqual(video);
    expect(chosen.audio?.codec.payloadType).toEqual(audio);
  });

  const bad: Array<{ name: string; sdp: string; message: RegExp }> = [
    { name: 'empty', sdp: '', message: /empty/ },
    { name: 'not SDP', sdp: 'hello world', message: /v=0/ },
    { name: 'no m-lines', sdp: `v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 ${Array(32).fill('AB').join(':')}\r\n`, message: /no audio or video m-line/ },
    { name: 'a sha-256 fingerprint of 2 bytes', sdp: chromeOffer.replace(/a=fingerprint:sha-256 \S+/g, 'a=fingerprint:sha-256 AB:CD'), message: /malformed fingerprint/ },
    { name: 'a fingerprint that is not hex pairs', sdp: chromeOffer.replace(/a=fingerprint:sha-256 \S+/g, 'a=fingerprint:sha-256 ABC:D'), message: /malformed fingerprint/ },
    { name: 'no fingerprint', sdp: chromeOffer.replace(/a=fingerprint.*\r\n/g, ''), message: /fingerprint/ },
    { name: 'no mid', sdp: obsOffer.replace('a=mid:1\r\n', ''), message: /m-line 1 \(video\) has no a=mid/ },
    { name: 'no ICE credentials', sdp: obsOffer.replace(/a=ice-(ufrag|pwd).*\r\n/g, ''), message: /ice-ufrag/ },
    { name: 'plain RTP/AVP', sdp: obsOffer.replace('m=video 9 UDP/TLS/RTP/SAVPF 96', 'm=video 9 RTP/AVP 96'), message: /RTP\/AVP/ },
    { name: 'bad fmtp', sdp: obsOffer.replace('a=fmtp:96 ', 'a=fmtp:x96 '), message: /malformed fmtp/ },
    { name: 'bad rtpmap', sdp: obsOffer.replace('a=rtpmap:96 H264/90000', 'a=rtpmap:96 H264'), message: /malformed rtpmap/ },
    { name: 'payload type out of range', sdp: obsOffer.replace('SAVPF 96', 'SAVPF 300'), message: /0-127/ },
    { name: 'garbage line', sdp: obsOffer.replace('s=-', 'hello'), message: /line 3/ },
    { name: 'too many m-lines', sdp: obsOffer + 'm=video 9 UDP/TLS/RTP/SAVPF 96\r\n'.repeat(20), message: /more than 16/ },
  ];
  it.each(bad)('rejects $name', ({ sdp, message }) => {
    expect(() => parseOffer(sdp)).toThrow(SdpError);
    expect(() => parseOffer(sdp)).toThrow(message);
  });

  it('finds no codec in an AV1 + G722 offer', () => {
    const sdp = obsOffer.replace('a=rtpmap:96 H264/90000', 'a=rtpmap:96 AV1/90000').replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 G722/8000');
    expect(selectPublisherCodecs(parseOffer(sdp))).toEqual({});
  });

  it('skips H.264 with a malformed profile-level-id', () => {
    const sdp = obsOffer.replace('profile-level-id=42e01f', 'profile-level-id=zz');
    expect(selectPublisherCodecs(parseOffer(sdp)).video).toBeUndefined();
  });

  it('collects rtcp-fb and fmtp per payload type', () => {
    const video = parseSdp(chromeOffer).media[1]!;
    expect(video.codecs.find((c) => c.payloadType === 102)).toMatchObject({ fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f', rtcpFb: ['goog-remb', 'nack', 'nack pli'] });
  });
});

describe('h264Profile', () => {
  it.each([
    ['profile-level-id=42e01f', 'constrained-baseline', 0x1f],
    ['profile-level-id=42001f', 'baseline', 0x1f],
    ['profile-level-id=4d001f', 'main', 0x1f],
    ['profile-level-id=4d801f', 'constrained-baseline', 0x1f],
    ['profile-level-id=640c1f', 'constrained-high', 0x1f],
    ['profile-level-id=640032', 'high', 0x32],
    ['packetization-mode=1', 'baseline', 0x0a],
  ])('%s → %s', (fmtp, name, level) => {
    expect(h264Profile(fmtp)).toMatchObject({ name, levelIdc: level });
  });
  it('rejects malformed ids', () => expect(h264Profile('profile-level-id=42e0')).toBeUndefined());
});

describe('restrictOffer', () => {
  it('keeps only the chosen payload types and stays parseable', () => {
    const offer = parseOffer(chromeOffer);
    const chosen = selectPublisherCodecs(offer);
    const restricted = restrictOffer(chromeOffer, [chosen.video!, chosen.audio!]);
    const again = parseOffer(restricted);
    expect(again.media.map((m) => m.formats)).toEqual([[111], [106]]);
    expect(again.media[1]!.codecs).toEqual([{ payloadType: 106, name: 'H264', clockRate: 90000, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f', rtcpFb: ['goog-remb', 'nack', 'nack pli'] }]);
    expect(restricted).not.toContain('ssrc-group:FID');
    expect(restricted).toContain('a=ssrc:1111 cname:abc');
    expect(restricted).not.toContain('a=ssrc:2222');
    expect(restricted).toContain('a=ssrc:3195276411 cname:abc');
    expect(restricted.endsWith('\r\n')).toBe(true);
  });
  it('drops simulcast layers (one layer per m-line is forwarded)', () => {
    const sdp = chromeOffer.replace('a=rtcp-rsize\r\n', 'a=rtcp-rsize\r\na=rid:q send\r\na=rid:h send\r\na=simulcast:send q;h\r\n');
    const chosen = selectPublisherCodecs(parseOffer(sdp));
    const restricted = restrictOffer(sdp, [chosen.video!]);
    expect(restricted).not.toMatch(/a=rid:|a=simulcast:/);
  });
  it('leaves m-lines without a selection untouched', () => {
    const offer = parseOffer(obsOffer);
    const chosen = selectPublisherCodecs(offer);
    expect(restrictOffer(obsOffer, [chosen.video!])).toContain('m=audio 9 UDP/TLS/RTP/SAVPF 111');
  });
});

describe('selectViewerCodecs', () => {
  const cases: Array<{ name: string; stream: Parameters<typeof selectViewerCodecs>[1]; video: number | undefined; audio: number | undefined }> = [
    { name: 'exact H.264 profile', stream: { video: { name: 'H264', clockRate: 90000, fmtp: 'profile-level-id=42e01f;packetization-mode=1' }, audio: { name: 'opus', clockRate: 48000 } }, video: 106, audio: 111 },
    { name: 'same profile, other level', stream: { video: { name: 'H264', clockRate: 90000, fmtp: 'profile-level-id=42001e;packetization-mode=1' } }, video: 102, audio: undefined },
    { name: 'main profile', stream: { video: { name: 'H264', clockRate: 90000, fmtp: 'profile-level-id=4d0032;packetization-mode=1' } }, video: 127, audio: undefined },
    { name: 'VP8', stream: { video: { name: 'VP8', clockRate: 90000 } }, video: 96, audio: undefined },
    { name: 'stream codec the viewer lacks', stream: { video: { name: 'VP9', clockRate: 90000 } }, video: undefined, audio: undefined },
  ];
  it.each(cases)('$name', ({ stream, video, audio }) => {
    const chosen = selectViewerCodecs(parseOffer(chromeOffer.replaceAll('a=sendonly', 'a=recvonly')), stream);
    expect(chosen.video?.codec.payloadType).toEqual(video);
    expect(chosen.audio?.codec.payloadType).toEqual(audio);
  });

  // What a MoQ publisher's stream says (apps/ingest/src/moq): profile-level-id from the SPS.
  const moq = (profileLevelId: string) => ({
    video: { name: 'H264', clockRate: 90000, fmtp: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profileLevelId}` },
    audio: { name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' },
  });
  it.each([
    ["<moq-publish>'s High profile at the SPS's level 3.1", moq('64001f'), 39],
    ['High profile at level 4.0 (the catalog\'s avc1.640028): same profile, other level', moq('640028'), 39],
    ['Constrained Baseline from a WebCodecs avc1.42e01f encoder', moq('42e01f'), 106],
  ])('a Chrome WHEP viewer matches a MoQ stream: %s', (_name, stream, video) => {
    const chosen = selectViewerCodecs(parseOffer(chromeOffer.replaceAll('a=sendonly', 'a=recvonly')), stream);
    expect(chosen.video?.codec.payloadType).toBe(video);
    expect(chosen.audio?.codec.payloadType).toBe(111);
  });

  it('a viewer that offers no High profile still gets High: any packetization-mode=1 H.264 (decoders without High would fail)', () => {
    const noHigh = chromeOffer.replaceAll('a=sendonly', 'a=recvonly').replace(/a=fmtp:39 [^\r]*profile-level-id=64001f/, 'a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=64001f');
    const chosen = selectViewerCodecs(parseOffer(noHigh), moq('64001f'));
    expect(chosen.video?.codec.payloadType).toBe(102);
  });
});

describe('parseTrickleFragment', () => {
  it('parses an RFC 8840 fragment', () => {
    const frag = parseTrickleFragment(
      ['a=ice-options:trickle ice2', 'a=group:BUNDLE 0 1', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=ice-ufrag:EsAw', 'a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1', 'a=end-of-candidates', ''].join('\r\n').replace('m=audio', 'm=audio').replace('a=mid:0\r\na=ice-ufrag:EsAw', 'a=mid:0'),
    );
    expect(frag.media).toEqual([{ mid: '0', mLineIndex: 0, candidates: ['1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1'], endOfCandidates: true }]);
  });
  it('reads ICE credentials (an ICE restart)', () => {
    const frag = parseTrickleFragment('a=ice-ufrag:new1\r\na=ice-pwd:newpassword0123456789ab\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n');
    expect(frag).toMatchObject({ iceUfrag: 'new1', icePwd: 'newpassword0123456789ab' });
  });
  it.each([
    ['a candidate outside an m-line', 'a=candidate:1 1 udp 1 1.2.3.4 5 typ host\r\n', /outside an m-line/],
    ['a malformed candidate', 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:garbage\r\n', /malformed candidate/],
    ['a candidate with an 18-digit priority', 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 123456789012345678 127.0.0.1 5000 typ host\r\n', /priority/],
    ['a whole SDP instead of a fragment', 'v=0\r\n', /not a trickle-ice-sdpfrag/],
    ['a line that is not <type>=<value>', 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nhello\r\n', /not "<type>=<value>"/],
  ])('rejects %s', (_name, body, message) => {
    expect(() => parseTrickleFragment(body)).toThrow(message);
  });

  // RFC 8866 §5.13: an attribute the receiver does not understand is ignored — it must not cost
  // the valid candidates beside it. A WHEP client writes Firefox's end of candidates (an empty
  // candidate string) as a bare `a=`.
  it.each([
    ['an empty attribute (a=)', 'a='],
    ['an unknown attribute', 'a=x-custom:whatever'],
    ['an attribute that belongs in a full SDP', 'a=fingerprint:sha-256 AA'],
    ['an attribute without a value', 'a=rtcp-mux'],
    ['a c= line', 'c=IN IP4 0.0.0.0'],
  ])('ignores %s and keeps the candidates beside it', (_name, line) => {
    const body = ['m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=candidate:1 1 udp 2122260223 127.0.0.1 61764 typ host', line, 'a=candidate:2 1 udp 2122260222 127.0.0.1 61765 typ host', ''].join('\r\n');
    expect(parseTrickleFragment(body).media[0]?.candidates).toEqual(['1 1 udp 2122260223 127.0.0.1 61764 typ host', '2 1 udp 2122260222 127.0.0.1 61765 typ host']);
  });

  it('reads a session-level a=end-of-candidates (RFC 8840 §4.4)', () => {
    expect(parseTrickleFragment('a=ice-ufrag:u1\r\na=ice-pwd:p0123456789012345678901\r\na=end-of-candidates\r\n').endOfCandidates).toBe(true);
    expect(parseTrickleFragment('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=end-of-candidates\r\n').endOfCandidates).toBe(true);
    expect(parseTrickleFragment('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n').endOfCandidates).toBe(false);
  });
});

// Firefox under max-bundle offers every m-line but the first with port 0 + a=bundle-only: bundled
// media, not rejected (RFC 8843 §6 / §7.3; RFC 8829 §5.2.1). Read as rejected, a Firefox
// broadcaster's microphone was dropped and Firefox viewers got no audio.
describe('bundle-only m-lines (Firefox, max-bundle)', () => {
  it('parses port 0 + a=bundle-only inside the BUNDLE group as bundled', () => {
    const offer = parseOffer(firefoxWhipOffer);
    expect(offer.media.map((m) => ({ kind: m.kind, port: m.port, bundleOnly: m.bundleOnly }))).toEqual([
      { kind: 'audio', port: 9, bundleOnly: false },
      { kind: 'video', port: 0, bundleOnly: true },
    ]);
    expect(offer.bundle).toEqual(['0', '1']);
  });

  it('a Firefox publisher: opus on the first m-line and VP8 on the bundle-only one', () => {
    const chosen = selectPublisherCodecs(parseOffer(firefoxWhipOffer));
    expect(chosen.audio).toMatchObject({ mid: '0', codec: { name: 'opus', payloadType: 109 } });
    expect(chosen.video).toMatchObject({ mid: '1', codec: { name: 'VP8', payloadType: 120 } });
  });

  it('a Firefox viewer of a VP8 + opus stream: audio on the bundle-only m-line', () => {
    const chosen = selectViewerCodecs(parseOffer(firefoxWhepOffer), { video: { name: 'VP8', clockRate: 90000 }, audio: { name: 'opus', clockRate: 48000, channels: 2 } });
    expect(chosen.video).toMatchObject({ mid: '0', codec: { payloadType: 120 } });
    expect(chosen.audio).toMatchObject({ mid: '1', codec: { payloadType: 109 } });
  });

  it('gives a bundle-only m-line the BUNDLE port and drops a=bundle-only for the engines', () => {
    const out = bundleOnlyAsBundled(firefoxWhepOffer);
    const media = parseOffer(out).media;
    expect(media.map((m) => [m.port, m.bundleOnly])).toEqual([[9, false], [9, false]]);
    expect(out).not.toContain('a=bundle-only');
    // Nothing else changes.
    expect(out.replace('m=audio 9 ', 'm=audio 0 ')).toBe(firefoxWhepOffer.replace('a=bundle-only\r\n', ''));
  });

  it('leaves a port-0 m-line without bundle-only (disabled, RFC 8843 §7.3) and one outside the BUNDLE group as they are', () => {
    const disabled = firefoxWhepOffer.replace('a=bundle-only\r\n', '');
    expect(bundleOnlyAsBundled(disabled)).toBe(disabled);
    expect(selectViewerCodecs(parseOffer(disabled), { audio: { name: 'opus', clockRate: 48000 } }).audio).toBeUndefined();
    const ungrouped = firefoxWhepOffer.replace('a=group:BUNDLE 0 1\r\n', '');
    expect(bundleOnlyAsBundled(ungrouped)).toBe(ungrouped);
    expect(selectViewerCodecs(parseOffer(ungrouped), { audio: { name: 'opus', clockRate: 48000 } }).audio).toBeUndefined();
  });
});

describe('corrupted input (fuzz)', () => {
  let seed = 0x1badf00d;
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const alphabet = 'a=m0 1:\r\n.-/\u0000é';
  function corrupt(text: string): string {
    const chars = [...text];
    for (let n = 1 + Math.floor(random() * 6); n > 0; n -= 1) {
      const at = Math.floor(random() * chars.length);
      const op = random();
      if (op < 0.4) chars[at] = alphabet[Math.floor(random() * alphabet.length)]!;
      else if (op < 0.7) chars.splice(at, 1 + Math.floor(random() * 8));
      else chars.splice(at, 0, alphabet[Math.floor(random() * alphabet.length)]!);
    }
    return chars.join('');
  }

  it('a trickle fragment: 5 000 corruptions, only SdpError', () => {
    const fragment = ['a=ice-ufrag:EsAw', 'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0', 'a=', 'a=end-of-candidates', ''].join('\r\n');
    let parsed = 0;
    for (let i = 0; i < 5_000; i += 1) {
      try {
        parseTrickleFragment(corrupt(fragment));
        parsed += 1;
      } catch (error) {
        expect(error).toBeInstanceOf(SdpError);
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });

  it('Firefox offers through the parser and bundleOnlyAsBundled: 2 000 corruptions, only SdpError, and what is rewritten still parses', () => {
    for (let i = 0; i < 2_000; i += 1) {
      const text = corrupt(i % 2 ? firefoxWhepOffer : firefoxWhipOffer);
      try {
        const out = bundleOnlyAsBundled(text);
        expect(() => parseSdp(out)).not.toThrow();
      } catch (error) {
        expect(error).toBeInstanceOf(SdpError);
      }
    }
  });
});
