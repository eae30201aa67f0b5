/**
 * A UDP socket the ingest receives a transcoder's renditions on: bound to one of the ingest's own
 * addresses (loopback or an ICE host), on an ephemeral port, or inside ONAIR_ICE_PORT_RANGE when
 * one is configured (so a firewall opened for media covers it too).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { OnairError } from '@onair/shared/errors';

/** Ports tried at random inside a configured range before giving up. */
const RANGE_ATTEMPTS = 64;

export async function bindUdp(host: string, portRange: [number, number] | undefined): Promise<Socket> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  const [min, max] = portRange ?? [0, 0];
  for (let attempt = 0; attempt < (portRange ? RANGE_ATTEMPTS : 1); attempt++) {
    try {
      return await bindOne(type, host, portRange ? randomInt(min, max + 1) : 0);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE') throw new OnairError('unavailable', `Cannot receive renditions on ${host} (${code ?? 'bind failed'}).`, { cause: error });
    }
  }
  throw new OnairError('unavailable', `No free UDP port in ${min}-${max} (ONAIR_ICE_PORT_RANGE) for the renditions; try again shortly.`);
}

function bindOne(type: 'udp4' | 'udp6', host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type, reuseAddr: false });
    const onError = (error: Error) => {
      socket.close();
      reject(error);
    };
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
