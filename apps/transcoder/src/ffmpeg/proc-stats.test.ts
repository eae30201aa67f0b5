import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { boundUdpPorts, cpuShare, parseProcStat, parseProcStatus, parseUdpTable, sampleProcess } from './proc-stats';

describe('procfs parsing', () => {
  it('reads utime + stime after a comm that contains spaces and parentheses', () => {
    const stat = '4242 (ffmpeg (x) y) S 1 4242 4242 0 -1 4194304 5000 0 0 0 1234 566 0 0 20 0 4 0 100 0 0';
    expect(parseProcStat(stat)).toEqual({ cpuSeconds: 18 });
    expect(parseProcStat('garbage')).toBeNull();
  });

  it('reads VmRSS in bytes', () => {
    expect(parseProcStatus('Name:\tffmpeg\nVmPeak:\t  999 kB\nVmRSS:\t  124268 kB\n')).toEqual({ rssBytes: 124268 * 1024 });
    expect(parseProcStatus('Name:\tffmpeg\n')).toBeNull();
  });

  it('computes CPU share between samples', () => {
    expect(cpuShare({ cpuSeconds: 10, at: 0 }, { cpuSeconds: 11, at: 2000 })).toBe(0.5);
    expect(cpuShare({ cpuSeconds: 10, at: 5 }, { cpuSeconds: 11, at: 5 })).toBeNull();
  });

  it('samples this very process', async () => {
    const sample = await sampleProcess(process.pid);
    expect(sample?.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(sample?.cpuSeconds).toBeGreaterThan(0);
  });

  it('lists the local ports of a /proc/net/udp table (IPv4 and IPv6 rows)', () => {
    const table = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      ' 1275: 0100007F:5B8E 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123 2 0000000000000000 0',
      '  512: 00000000000000000000000001000000:0014 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 9 2 0 0',
      'garbage',
      '',
    ].join('\n');
    expect([...parseUdpTable(table)].sort()).toEqual([20, 23438]);
  });

  it('sees a UDP socket the moment it is bound, and not after it is closed', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const port = socket.address().port;
    expect(await boundUdpPorts([port, 1])).toEqual(new Set([port]));
    await new Promise<void>((resolve) => socket.close(resolve));
    expect(await boundUdpPorts([port])).toEqual(new Set());
  });
});
