import { describe, expect, it } from 'vitest';
import { firefoxWhepOffer } from '@onair/shared/fixtures/sdp-offers';
import { addressScope } from './address-scope';
import { privateByDefault, RemoteCandidateGate } from './remote-candidate-gate';

describe('addressScope', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.20', 'private'],
    ['100.64.0.1', 'private'],
    ['fd00::2', 'private'],
    ['fc12:3456::1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['0.0.0.0', 'unusable'],
    ['::', 'unusable'],
    ['224.0.0.251', 'unusable'],
    ['255.255.255.255', 'unusable'],
    ['ff02::fb', 'unusable'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['203.0.113.7', 'public'],
    ['2001:db8::7', 'public'],
    ['example.org', 'unusable'],
  ])('%s → %s', (address, scope) => {
    expect(addressScope(address)).toBe(scope);
  });
});

const candidate = (address: string, port = 50000, extra = '') => `1 1 udp 2122260223 ${address} ${port} typ host${extra}`;

describe('RemoteCandidateGate', () => {
  const publicIngest = { iceHosts: ['203.0.113.10'], allowPrivate: false, maxCandidates: 10 };

  it.each([
    ['a public IPv4 host', candidate('198.51.100.7'), 1],
    ['a public srflx', '2 1 udp 1677729535 198.51.100.7 50001 typ srflx raddr 10.0.0.5 rport 50001', 1],
    ['a host name', candidate('attacker.example'), 0],
    ['an mDNS name', candidate('3ce11646-dd72-461a-b782-2c831e7dab3b.local'), 0],
    ['loopback', candidate('127.0.0.1'), 0],
    ['a private address', candidate('192.168.1.5'), 0],
    ['link-local', candidate('169.254.3.4'), 0],
    ['multicast', candidate('224.0.0.251'), 0],
    ['broadcast', candidate('255.255.255.255'), 0],
    ['a system port (DNS)', candidate('198.51.100.7', 53), 0],
    ['TCP', '1 1 tcp 2105458943 198.51.100.7 50000 typ host tcptype passive', 0],
    ['RTCP component', '1 2 udp 2122260222 198.51.100.7 50001 typ host', 0],
    ['IPv6 when the ingest listens on IPv4 only', candidate('2001:db8::7'), 0],
    ['malformed', '1 1 udp 123456789012345678 198.51.100.7 50000 typ host', 0],
  ])('public ingest: %s → %i', (_name, value, kept) => {
    expect(new RemoteCandidateGate(publicIngest).admit(value)).toHaveLength(kept);
  });

  it('takes private candidates when an ICE host is private, or when told', () => {
    expect(new RemoteCandidateGate({ ...publicIngest, iceHosts: ['192.168.1.20'], allowPrivate: privateByDefault(['192.168.1.20']) }).admit(candidate('192.168.1.5'))).toHaveLength(1);
    expect(new RemoteCandidateGate({ ...publicIngest, allowPrivate: true }).admit(candidate('10.0.0.5'))).toHaveLength(1);
    expect(privateByDefault(['203.0.113.10', '2001:db8::10'])).toBe(false);
    expect(privateByDefault(['203.0.113.10', 'fd00::10'])).toBe(true);
  });

  it('caps the candidates of one session, offer and trickle together, duplicates once', () => {
    const gate = new RemoteCandidateGate({ ...publicIngest, maxCandidates: 3 });
    const kept = Array.from({ length: 30 }, (_, i) => gate.admit(candidate('198.51.100.7', 40000 + i))).flat();
    expect(kept).toHaveLength(3);
    expect(gate.admit(candidate('198.51.100.7', 40000))).toEqual([]);
    expect(gate.dropped).toMatchObject({ cap: 27, duplicate: 1 });
    expect(gate.accepted).toBe(3);
  });

  describe('an ingest on loopback only (the default)', () => {
    const loopbackIngest = { iceHosts: ['127.0.0.1'], allowPrivate: false, maxCandidates: 10 };
    const local = ['10.213.0.2', 'fd00::2'];

    it('keeps loopback and this machine\'s own addresses, nothing else', () => {
      const gate = new RemoteCandidateGate(loopbackIngest, local);
      expect(gate.admit(candidate('127.0.0.1'))).toHaveLength(1);
      expect(gate.admit(candidate('10.213.0.2', 50001))).toHaveLength(1);
      expect(gate.admit(candidate('10.213.0.3'))).toHaveLength(0);
      expect(gate.admit(candidate('198.51.100.7'))).toHaveLength(0);
    });

    it('drops mDNS names: where they point is unknown, and resolving them needs multicast', () => {
      const out = new RemoteCandidateGate(loopbackIngest, local).filterOffer(firefoxWhepOffer);
      expect(out).not.toContain('a=candidate:');
      expect(out).toBe(firefoxWhepOffer.replace(/^a=candidate:.*\r\n/gm, ''));
    });
  });

  it('filters a trickle fragment', () => {
    const gate = new RemoteCandidateGate(publicIngest);
    const out = gate.filterFragment({ iceUfrag: undefined, icePwd: undefined, endOfCandidates: false, media: [{ mid: '0', mLineIndex: 0, endOfCandidates: false, candidates: [candidate('198.51.100.7'), candidate('10.0.0.1'), candidate('x.local')] }] });
    expect(out.media[0]!.candidates).toEqual([candidate('198.51.100.7')]);
  });
});
