import { describe, expect, it } from 'vitest';
import { OnairError } from './errors';
import { parseTrickleFragment } from './sdp';
import {
  buildTrickleFragment,
  iceParamsFromSdp,
  iceServersFromLinkHeader,
  orderAudioCodecs,
  orderVideoCodecs,
  parseLinkHeader,
  problemFromText,
  readProblem,
  resolveResourceUrl,
  type CodecLike,
} from './webrtc-client';

describe('parseLinkHeader', () => {
  it.each([
    ['', []],
    [null, []],
    ['<stun:stun.example.net>; rel="ice-server"', [{ uri: 'stun:stun.example.net', params: { rel: 'ice-server' } }]],
    [
      '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u;1"; credential="p,w"; credential-type="password"',
      [{ uri: 'turn:turn.example.net?transport=udp', params: { rel: 'ice-server', username: 'u;1', credential: 'p,w', 'credential-type': 'password' } }],
    ],
    [
      '<stun:a.example>; rel=ice-server, <https://example.org/doc>; rel="help"',
      [
        { uri: 'stun:a.example', params: { rel: 'ice-server' } },
        { uri: 'https://example.org/doc', params: { rel: 'help' } },
      ],
    ],
    ['garbage, <stun:b.example>; REL="ice-server"', [{ uri: 'stun:b.example', params: { rel: 'ice-server' } }]],
    ['<stun:c.example>; rel="ice-server"; rel="other"', [{ uri: 'stun:c.example', params: { rel: 'ice-server' } }]],
    ['<stun:d.example>; rel="ice-server"; flag', [{ uri: 'stun:d.example', params: { rel: 'ice-server', flag: '' } }]],
    ['<stun:unterminated', []],
  ] as const)('%j', (header, expected) => {
    expect(parseLinkHeader(header)).toEqual(expected);
  });
});

describe('iceServersFromLinkHeader', () => {
  it('keeps only ice-server links with STUN/TURN URIs, with credentials', () => {
    const header = [
      '<stun:stun.example.net:3478>; rel="ice-server"',
      '<turns:turn.example.net:443?transport=tcp>; rel="ice-server"; username="user"; credential="secret"; credential-type="password"',
      '<https://example.net/>; rel="ice-server"',
      '<stun:other.example>; rel="preconnect"',
    ].join(', ');
    expect(iceServersFromLinkHeader(header)).toEqual([
      { urls: 'stun:stun.example.net:3478' },
      { urls: 'turns:turn.example.net:443?transport=tcp', username: 'user', credential: 'secret' },
    ]);
  });

  it('returns nothing for a missing header', () => {
    expect(iceServersFromLinkHeader(null)).toEqual([]);
  });
});

describe('problemFromText', () => {
  it('keeps the server code and detail of an onair problem document', () => {
    const body = JSON.stringify({ type: '/problems/invalid_stream_key', title: 'Invalid stream key', status: 403, code: 'invalid_stream_key', detail: 'Invalid stream key' });
    const error = problemFromText(403, 'application/problem+json', body);
    expect(error).toBeInstanceOf(OnairError);
    expect(error).toMatchObject({ code: 'invalid_stream_key', status: 403, message: 'Invalid stream key' });
  });

  it.each([
    [404, 'application/problem+json', '{"code":"stream_offline","detail":"demo is not live"}', 'stream_offline', 'demo is not live'],
    [404, 'application/problem+json', '{"code":"no_such_code","detail":"who knows"}', 'not_found', 'who knows'],
    [502, 'application/json', 'not json at all', 'upstream_unreachable', 'HTTP 502: not json at all'],
    [503, 'text/html', '<html><body><h1>Service   Unavailable</h1></body></html>', 'unavailable', 'HTTP 503: Service Unavailable'],
    [401, null, '', 'missing_credentials', 'HTTP 401'],
    [415, 'text/plain', 'nope', 'unsupported_media_type', 'HTTP 415: nope'],
    [418, 'text/plain', '', 'bad_request', 'HTTP 418'],
  ] as const)('HTTP %i %s %j → %s', (status, type, text, code, detail) => {
    const error = problemFromText(status, type, text);
    expect(error.code).toBe(code);
    expect(error.message).toBe(detail);
  });

  it('reads a Response', async () => {
    const response = new Response(JSON.stringify({ code: 'stream_not_found', detail: 'No stream named x' }), { status: 404, headers: { 'content-type': 'application/problem+json' } });
    await expect(readProblem(response)).resolves.toMatchObject({ code: 'stream_not_found', message: 'No stream named x' });
  });
});

describe('orderVideoCodecs', () => {
  const chrome: CodecLike[] = [
    { mimeType: 'video/VP8', clockRate: 90000 },
    { mimeType: 'video/rtx', clockRate: 90000, sdpFmtpLine: 'apt=96' },
    { mimeType: 'video/VP9', clockRate: 90000, sdpFmtpLine: 'profile-id=0' },
    { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f' },
    { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f' },
    { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
    { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f' },
    { mimeType: 'video/AV1', clockRate: 90000 },
    { mimeType: 'video/red', clockRate: 90000 },
    { mimeType: 'video/ulpfec', clockRate: 90000 },
  ];
  const label = (c: CodecLike) => `${c.mimeType.split('/')[1]}${c.sdpFmtpLine?.match(/packetization-mode=(\d)/) ? `/pm${c.sdpFmtpLine.match(/packetization-mode=(\d)/)![1]}` : ''}${c.sdpFmtpLine?.match(/profile-level-id=(\w+)/) ? `/${c.sdpFmtpLine.match(/profile-level-id=(\w+)/)![1]}` : ''}`;

  it('puts H.264 Constrained Baseline pm=1 first, then Baseline, other H.264, VP8, others, pm=0, non-media last', () => {
    expect(orderVideoCodecs(chrome).map(label)).toEqual([
      'H264/pm1/42e01f',
      'H264/pm1/42001f',
      'H264/pm1/4d001f',
      'VP8',
      'VP9',
      'AV1',
      'H264/pm0/42e01f',
      'rtx',
      'red',
      'ulpfec',
    ]);
  });

  it('puts VP8 first when asked, H.264 still before the rest', () => {
    expect(orderVideoCodecs(chrome, 'vp8').map(label).slice(0, 4)).toEqual(['VP8', 'H264/pm1/42e01f', 'H264/pm1/42001f', 'H264/pm1/4d001f']);
  });

  it('drops nothing and does not mutate its input', () => {
    const copy = [...chrome];
    const ordered = orderVideoCodecs(chrome);
    expect(chrome).toEqual(copy);
    expect(new Set(ordered)).toEqual(new Set(chrome));
  });

  it('recognises 42c01f as Constrained Baseline too', () => {
    const codecs: CodecLike[] = [
      { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'packetization-mode=1;profile-level-id=42001f' },
      { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'profile-level-id=42C01F;packetization-mode=1' },
    ];
    expect(orderVideoCodecs(codecs)[0]).toBe(codecs[1]);
  });
});

describe('orderAudioCodecs', () => {
  it('puts Opus first and keeps the rest in order', () => {
    const codecs: CodecLike[] = [
      { mimeType: 'audio/red', clockRate: 48000 },
      { mimeType: 'audio/G722', clockRate: 8000 },
      { mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
      { mimeType: 'audio/PCMU', clockRate: 8000 },
    ];
    expect(orderAudioCodecs(codecs).map((c) => c.mimeType)).toEqual(['audio/opus', 'audio/G722', 'audio/PCMU', 'audio/red']);
  });
});

describe('resolveResourceUrl', () => {
  it.each([
    ['/whip/sessions/abc', '/whip', 'http://web.example:3000/broadcast', 'http://web.example:3000/whip/sessions/abc'],
    ['sessions/abc', 'http://ingest:8080/whep/demo', undefined, 'http://ingest:8080/whep/sessions/abc'],
    ['http://other:1/x', '/whip', 'http://web.example/', 'http://other:1/x'],
  ] as const)('%s against %s', (location, request, base, expected) => {
    expect(resolveResourceUrl(location, request, base)).toBe(expected);
  });
});

describe('trickle ICE fragments (RFC 8840)', () => {
  const offer = [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'c=IN IP4 0.0.0.0',
    'a=ice-ufrag:Ab3x',
    'a=ice-pwd:p4ssw0rdp4ssw0rdp4ssw0rd',
    'a=mid:0',
    'a=recvonly',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=ice-ufrag:Ab3x',
    'a=ice-pwd:p4ssw0rdp4ssw0rdp4ssw0rd',
    'a=mid:1',
    '',
  ].join('\r\n');

  it('reads the credentials and the first mid of an offer', () => {
    expect(iceParamsFromSdp(offer)).toEqual({ ufrag: 'Ab3x', pwd: 'p4ssw0rdp4ssw0rdp4ssw0rd', mid: '0' });
    expect(iceParamsFromSdp('v=0\r\n')).toBeNull();
  });

  it('builds fragments the ingest parser reads back', () => {
    const params = iceParamsFromSdp(offer)!;
    const candidates = ['candidate:1 1 tcp 1518214911 192.0.2.2 9 typ host tcptype active', 'a=candidate:2 1 udp 1686052607 198.51.100.7 50000 typ srflx raddr 192.0.2.2 rport 40000'];
    const body = buildTrickleFragment(params, candidates, true);
    expect(body.endsWith('\r\n')).toBe(true);
    const parsed = parseTrickleFragment(body);
    expect(parsed).toMatchObject({ iceUfrag: 'Ab3x', icePwd: 'p4ssw0rdp4ssw0rdp4ssw0rd' });
    expect(parsed.media).toEqual([
      {
        mid: '0',
        mLineIndex: 0,
        candidates: ['1 1 tcp 1518214911 192.0.2.2 9 typ host tcptype active', '2 1 udp 1686052607 198.51.100.7 50000 typ srflx raddr 192.0.2.2 rport 40000'].map((c) => expect.stringContaining(c)),
        endOfCandidates: true,
      },
    ]);
  });

  it('an end-of-candidates fragment alone is valid', () => {
    const parsed = parseTrickleFragment(buildTrickleFragment({ ufrag: 'u', pwd: 'p', mid: '0' }, [], true));
    expect(parsed.media[0]).toMatchObject({ mid: '0', candidates: [], endOfCandidates: true });
  });
});
