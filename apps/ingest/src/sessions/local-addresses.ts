/**
 * This machine's own addresses, read when a session starts (they change: DHCP, VPNs, Wi-Fi).
 * Used to tell "this machine" from the rest of the network: remote-candidate-gate.ts for an
 * ingest on loopback, webrtc/local-ice-relay.ts.
 */
import { networkInterfaces } from 'node:os';
import { addressScope } from './address-scope';

export interface MachineAddresses {
  /** Every address, loopback and link-local included (zone ids dropped). */
  all: string[];
  /** Unicast addresses other than loopback and link-local: what a browser here offers as host candidates. */
  routable: string[];
}

export function machineAddresses(): MachineAddresses {
  const all = Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .map((entry) => entry.address.split('%')[0]!);
  return { all, routable: all.filter((address) => !['loopback', 'link-local', 'unusable'].includes(addressScope(address))) };
}
