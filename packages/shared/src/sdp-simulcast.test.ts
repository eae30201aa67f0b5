import { describe, expect, it } from 'vitest';
import { chromeOffer, chromeSimulcastOffer, obsOffer, obsSimulcastOffer } from './fixtures/sdp-offers';
import { parseOffer, restrictOffer, SdpError, selectPublisherCodecs } from './sdp';
import { acceptSimulcastLayers, formatRid, formatSimulcast, MAX_SIMULCAST_LAYERS, parseRid, parseSimulcast, type SdpRid, type SimulcastOffer } from './sdp-simulcast';

describe('a=rid (RFC 8851)', () => {
  it.each<[string, SdpRid]>([
    ['f send', { id: 'f', direction: 'send', payloadTypes: undefined, restrictions: [] }],
    ['0 send', { id: '0', direction: 'send', payloadTypes: undefined, restrictions: [] }],
    ['hi-Res_2 recv', { id: 'hi-Res_2', direction: 'recv', payloadTypes: undefined, restrictions: [] }],
    ['1 send pt=96,97', { id: '1', direction: 'send', payloadTypes: [96, 97], restrictions: [] }],
    ['h send pt=96;max-width=1280;max-height=720', { id: 'h', direction: 'send', payloadTypes: [96], restrictions: ['max-width=1280', 'max-height=720'] }],
    ['q send max-fps=15;depend=h', { id: 'q', direction: 'send', payloadTypes: undefined, restrictions: ['max-fps=15', 'depend=h'] }],
  ])('%s', (value, rid) => {
    expect(parseRid(value)).toEqual(rid);
    // Round trip: what is written reads back the same.
    expect(parseRid(formatRid(rid))).toEqual(rid);
  });

  it.each([
    ['', /malformed rid/],
    ['f', /direction ""/],
    ['f sendrecv', /direction "sendrecv"/],
    ['f/1 send', /malformed rid/],
    ['f send pt=x', /malformed pt list/],
    ['f send pt=300', /malformed pt list/],
    ['f send max width', /more than one parameter list/],
    [`${'a'.repeat(33)} send`, /malformed rid/],
  ])('rejects %j', (value, message) => {
    expect(() => parseRid(value)).toThrow(SdpError);
    expect(() => parseRid(value)).toThrow(message);
  });
});

describe('a=simulcast (RFC 8853 §5.1)', () => {
  it.each([
    ['send f;h;q', { send: [{ rids: [{ id: 'f', paused: false }] }, { rids: [{ id: 'h', paused: false }] }, { rids: [{ id: 'q', paused: false }] }], recv: [] }],
    ['send 0;1;2', { send: ['0', '1', '2'].map((id) => ({ rids: [{ id, paused: false }] })), recv: [] }],
    ['recv a send 1,2;~3', { send: [{ rids: [{ id: '1', paused: false }, { id: '2', paused: false }] }, { rids: [{ id: '3', paused: true }] }], recv: [{ rids: [{ id: 'a', paused: false }] }] }],
  ])('%s', (value, parsed) => {
    expect(parseSimulcast(value)).toEqual(parsed);
    expect(parseSimulcast(formatSimulcast(parsed))).toEqual(parsed);
  });

  it.each([
    ['', /expected "send <rids>"/],
    ['send', /expected "send <rids>"/],
    ['sideways a;b', /not send or recv/],
    ['send a send b', /send given twice/],
    ['send a;;b', /"" is not a rid/],
    ['send a;b!', /"b!" is not a rid/],
  ])('rejects %j', (value, message) => {
    expect(() => parseSimulcast(value)).toThrow(SdpError);
    expect(() => parseSimulcast(value)).toThrow(message);
  });
});

describe('acceptSimulcastLayers', () => {
  const rid = (id: string, payloadTypes?: number[]): SdpRid => ({ id, direction: 'send', payloadTypes, restrictions: [] });
  const offer = (ids: string, rids: SdpRid[], ridExtension = true): SimulcastOffer => ({ rids, simulcast: parseSimulcast(`send ${ids}`), ridExtension });
  it.each<[string, SimulcastOffer, string[] | undefined]>([
    ['every layer, in the offer\'s order', offer('f;h;q', [rid('f'), rid('h'), rid('q')]), ['f', 'h', 'q']],
    ['a paused layer is still a layer', offer('0;~1', [rid('0'), rid('1')]), ['0', '1']],
    ['the first alternative of a stream', offer('a,b;c', [rid('a'), rid('b'), rid('c')]), ['a', 'c']],
    ['the next alternative when the first may not use the codec', offer('a,b;c', [rid('a', [100]), rid('b', [96]), rid('c')]), ['b', 'c']],
    ['a rid restricted to another payload type is left out', offer('a;b;c', [rid('a'), rid('b', [97]), rid('c')]), ['a', 'c']],
    ['a rid without its a=rid line is left out', offer('a;b;c', [rid('a'), rid('c')]), ['a', 'c']],
    ['one usable layer is no simulcast', offer('a;b', [rid('a')]), undefined],
    ['no rtp-stream-id extension: layers cannot be told apart', offer('f;h;q', [rid('f'), rid('h'), rid('q')], false), undefined],
    ['recv only (a viewer\'s simulcast)', { rids: [{ ...rid('a'), direction: 'recv' }], simulcast: parseSimulcast('recv a'), ridExtension: true }, undefined],
    ['no a=simulcast', { rids: [rid('a'), rid('b')], simulcast: undefined, ridExtension: true }, undefined],
  ])('%s', (_name, input, layers) => {
    expect(acceptSimulcastLayers(input, 96)).toEqual(layers);
  });

  it(`refuses more than ${MAX_SIMULCAST_LAYERS} layers with a message that says so`, () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    expect(() => acceptSimulcastLayers(offer(ids.join(';'), ids.map((id) => rid(id))), 96)).toThrow(/5 simulcast layers; onair receives at most 4/);
  });
});

describe('simulcast offers as publishers write them', () => {
  it.each([
    ['Chromium (sendEncodings with rids f, h, q)', chromeSimulcastOffer, 108, ['f', 'h', 'q']],
    ['OBS 32.1 (three layers, rids 0, 1, 2)', obsSimulcastOffer, 96, ['0', '1', '2']],
  ])('%s: every layer accepted, H.264 chosen', (_name, sdp, payloadType, layers) => {
    const chosen = selectPublisherCodecs(parseOffer(sdp));
    expect(chosen.video).toMatchObject({ codec: { name: 'H264', payloadType }, simulcast: layers });
    expect(chosen.audio?.codec.name).toBe('opus');
  });

  it.each([
    ['Chromium', chromeSimulcastOffer],
    ['OBS 32.1', obsSimulcastOffer],
  ])('%s: the engine gets the layers as a=rid … send + one a=simulcast, no a=ssrc in the video m-line', (_name, sdp) => {
    const chosen = selectPublisherCodecs(parseOffer(sdp));
    const restricted = restrictOffer(sdp, [chosen.video!, chosen.audio!]);
    const again = parseOffer(restricted);
    const video = again.media.find((m) => m.kind === 'video')!;
    expect(video.formats).toEqual([chosen.video!.codec.payloadType]);
    expect(video.rids.map((r) => `${r.id} ${r.direction}`)).toEqual(chosen.video!.simulcast!.map((id) => `${id} send`));
    expect(video.simulcast?.send.map((s) => s.rids[0]!.id)).toEqual(chosen.video!.simulcast);
    const videoSection = restricted.slice(restricted.indexOf('m=video'), restricted.indexOf('m=audio') > restricted.indexOf('m=video') ? restricted.indexOf('m=audio') : undefined);
    expect(videoSection).not.toMatch(/^a=ssrc/m);
    // The layers close the m-section: after every other attribute of it, never before c=.
    expect(videoSection.trimEnd().split('\r\n').slice(-1)[0]).toMatch(/^a=simulcast:send /);
    // The same offer again: nothing changes (what the engine reads is stable).
    expect(restrictOffer(restricted, [selectPublisherCodecs(again).video!, selectPublisherCodecs(again).audio!])).toBe(restricted);
  });

  it('an offer without simulcast loses nothing and gains nothing', () => {
    for (const sdp of [chromeOffer, obsOffer]) {
      const chosen = selectPublisherCodecs(parseOffer(sdp));
      expect(chosen.video?.simulcast).toBeUndefined();
      expect(restrictOffer(sdp, [chosen.video!, chosen.audio!])).not.toMatch(/a=(rid|simulcast):/);
    }
  });

  it('OBS with five layers is told why, not answered with fewer', () => {
    const five = obsSimulcastOffer.replace('a=rid:2 send\r\n', 'a=rid:2 send\r\na=rid:3 send\r\na=rid:4 send\r\n').replace('a=simulcast:send 0;1;2', 'a=simulcast:send 0;1;2;3;4');
    expect(() => selectPublisherCodecs(parseOffer(five))).toThrow(/at most 4/);
  });

  it('a malformed a=simulcast is an SdpError naming its line', () => {
    expect(() => parseOffer(obsSimulcastOffer.replace('a=simulcast:send 0;1;2', 'a=simulcast:send 0;;2'))).toThrow(/line \d+: malformed simulcast/);
  });
});

describe('corrupted simulcast attributes (fuzz)', () => {
  it('5 000 corruptions of a=rid / a=simulcast values: only SdpError, and whatever parses round-trips', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const alphabet = 'fhq0123;,~ =-_ptmax-width:sendrecv\t!';
    const seeds = ['f send', 'h send pt=96;max-width=640', 'send f;h;q', 'recv a send 1,2;~3', '0 recv pt=96,97'];
    for (let i = 0; i < 5000; i++) {
      const base = seeds[i % seeds.length]!;
      const chars = [...base];
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * (chars.length + 1));
        const op = random();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.8) chars.splice(at, 0, alphabet[Math.floor(random() * alphabet.length)]!);
        else chars[at] = alphabet[Math.floor(random() * alphabet.length)]!;
      }
      const value = chars.join('');
      for (const parse of [parseRid, parseSimulcast] as const) {
        try {
          const parsed = parse(value);
          if (parse === parseRid) expect(parseRid(formatRid(parsed as SdpRid))).toEqual(parsed);
          else expect(parseSimulcast(formatSimulcast(parsed as ReturnType<typeof parseSimulcast>))).toEqual(parsed);
        } catch (error) {
          expect(error, `${JSON.stringify(value)}`).toBeInstanceOf(SdpError);
        }
      }
    }
  });
});
