import { describe, expect, it } from 'vitest';
import { formatIceCandidate, parseIceCandidate } from './ice-candidate';
import { SdpError } from './sdp-error';

describe('parseIceCandidate / formatIceCandidate', () => {
  // As Chrome, Firefox, libnice and libdatachannel write them.
  const cases = [
    { name: 'Chrome host', text: '1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1', fields: { address: '192.0.2.1', port: 61764, type: 'host', priority: 2122260223 } },
    { name: 'Firefox mDNS host', text: '0 1 UDP 2122187007 3ce11646-dd72-461a-b782-2c831e7dab3b.local 54887 typ host', fields: { address: '3ce11646-dd72-461a-b782-2c831e7dab3b.local', transport: 'udp' } },
    { name: 'Firefox TCP active', text: '2 1 TCP 2105458943 10.0.0.5 9 typ host tcptype active', fields: { transport: 'tcp', extensions: [['tcptype', 'active']] } },
    { name: 'srflx with related address', text: '842163049 1 udp 1677729535 203.0.113.7 50000 typ srflx raddr 10.0.0.5 rport 50000 generation 0', fields: { type: 'srflx', relatedAddress: '10.0.0.5', relatedPort: 50000 } },
    { name: 'IPv6 relay', text: 'a1+b/ 1 udp 41885439 2001:db8::7 3478 typ relay raddr 2001:db8::8 rport 1234', fields: { address: '2001:db8::7', type: 'relay', foundation: 'a1+b/' } },
  ];
  it.each(cases)('$name', ({ text, fields }) => {
    const candidate = parseIceCandidate(text);
    expect(candidate).toMatchObject(fields);
    // Round trip: what is written back parses to the same candidate.
    expect(parseIceCandidate(formatIceCandidate(candidate))).toEqual(candidate);
    expect(parseIceCandidate(`candidate:${text}`)).toEqual(candidate);
  });

  it.each([
    ['an 18-digit priority', '1 1 udp 123456789012345678 127.0.0.1 5000 typ host', /priority/],
    ['priority 2^31', '1 1 udp 2147483648 127.0.0.1 5000 typ host', /priority/],
    ['priority 0', '1 1 udp 0 127.0.0.1 5000 typ host', /priority/],
    ['component 0', '1 0 udp 1 127.0.0.1 5000 typ host', /component/],
    ['port 70000', '1 1 udp 1 127.0.0.1 70000 typ host', /port/],
    ['a 33-character foundation', `${'a'.repeat(33)} 1 udp 1 127.0.0.1 5000 typ host`, /foundation/],
    ['no typ', '1 1 udp 1 127.0.0.1 5000 host x', /typ/],
    ['too few fields', '1 1 udp 1 127.0.0.1 5000', /at least 8 fields/],
    ['an address with a slash', '1 1 udp 1 127.0.0.1/8 5000 typ host', /address/],
    ['a dangling extension', '1 1 udp 1 127.0.0.1 5000 typ host generation', /pairs/],
    ['rport out of range', '1 1 udp 1 127.0.0.1 5000 typ srflx raddr 1.2.3.4 rport 99999', /rport/],
  ])('rejects %s', (_name, text, message) => {
    expect(() => parseIceCandidate(text)).toThrow(message);
  });

  it('never throws anything but SdpError on corrupted candidates (fuzz)', () => {
    const seeds = cases.map((c) => c.text);
    let seed = 0x2545f491;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    const alphabet = ' 0123456789abcdefxyz.:-+/\t\u0000\u00e9';
    let parsed = 0;
    for (let i = 0; i < 5_000; i += 1) {
      const chars = [...seeds[i % seeds.length]!];
      for (let n = 1 + Math.floor(random() * 4); n > 0; n -= 1) {
        const at = Math.floor(random() * chars.length);
        const op = random();
        if (op < 0.4) chars[at] = alphabet[Math.floor(random() * alphabet.length)]!;
        else if (op < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, alphabet[Math.floor(random() * alphabet.length)]!);
      }
      try {
        const candidate = parseIceCandidate(chars.join(''));
        parsed += 1;
        // Whatever is accepted is within the grammar's bounds.
        expect(candidate.priority).toBeGreaterThanOrEqual(1);
        expect(candidate.priority).toBeLessThanOrEqual(2 ** 31 - 1);
        expect(candidate.port).toBeLessThanOrEqual(65535);
      } catch (error) {
        expect(error).toBeInstanceOf(SdpError);
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });
});
