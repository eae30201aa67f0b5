import { describe, expect, it } from 'vitest';
import { TrustedProxies } from '@onair/shared/trusted-proxies';
import { forwardDestinationAllowed } from './forward-destination';

const rule = { iceHosts: ['192.0.2.10', '2001:db8::10'], transcoderHosts: TrustedProxies.parse('10.20.0.0/16, 2001:db8:5::7') };

describe('forwardDestinationAllowed', () => {
  const cases: Array<[string, string | undefined, boolean, string]> = [
    ['127.0.0.1', undefined, true, 'loopback'],
    ['127.3.4.5', undefined, true, 'loopback block'],
    ['::1', undefined, true, 'IPv6 loopback'],
    ['192.0.2.10', undefined, true, 'an ICE host of the ingest'],
    ['2001:DB8::10', undefined, true, 'an ICE host written differently'],
    ['198.51.100.7', '198.51.100.7', true, 'the transcoder that asked, from its own address'],
    ['198.51.100.7', '::ffff:198.51.100.7', true, 'the caller as an IPv4-mapped socket address'],
    ['198.51.100.8', '198.51.100.7', false, 'another host than the caller'],
    ['198.51.100.7', undefined, false, 'a stranger address, nobody asking from it'],
    ['10.20.3.4', '198.51.100.7', true, 'inside ONAIR_TRANSCODER_HOSTS'],
    ['10.21.3.4', '198.51.100.7', false, 'outside ONAIR_TRANSCODER_HOSTS'],
    ['2001:db8:5::7', undefined, true, 'a listed IPv6 transcoder'],
    ['transcoder.example', 'transcoder.example', false, 'a name, never resolved'],
    ['', '', false, 'empty'],
    ['0.0.0.0', '0.0.0.0', false, 'unspecified, whoever asks'],
    ['224.0.0.1', '224.0.0.1', false, 'multicast, whoever asks'],
    ['255.255.255.255', undefined, false, 'broadcast'],
    ['10.20.255.255', undefined, true, 'a host address inside a listed block is taken as listed'],
  ];
  it.each(cases)('%s (caller %s) → %s: %s', (host, caller, allowed) => {
    expect(forwardDestinationAllowed(host, rule, caller)).toBe(allowed);
  });

  it('without configured hosts, only loopback, the ICE hosts and the caller', () => {
    const bare = { iceHosts: ['127.0.0.1'], transcoderHosts: TrustedProxies.none };
    expect(forwardDestinationAllowed('10.20.3.4', bare, '10.20.3.5')).toBe(false);
    expect(forwardDestinationAllowed('10.20.3.5', bare, '10.20.3.5')).toBe(true);
  });
});
