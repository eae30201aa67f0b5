import { describe, expect, it } from 'vitest';
import { floorAt, floorRatios, floorSocketCounts, napiStubs, parseFloorSample, SRTP_SYMBOLS, symbolOffsets, type FloorSample } from './fanout-floor';

const sample = (sockets: number, sendtoUs: number, srtpAes128GcmSendtoUs = -1): FloorSample => ({
  packetBytes: 1134, sockets, packetsPerSecondPerSocket: 290, burst: 10, secondsPerPhase: 1,
  sendtoUs, srtpAes128GcmUs: srtpAes128GcmSendtoUs > 0 ? 0.5 : -1, srtpAesCm128Sha1_80Us: -1, srtpAes128GcmSendtoUs,
  packets: 1000, sent: 1000, received: 1000, srtpError: srtpAes128GcmSendtoUs > 0 ? null : 'not asked for',
});

describe('symbolOffsets', () => {
  it('finds local and global text symbols by exact name and ignores the rest', () => {
    const nm = [
      '00000000000e2840 T napi_register_module_v1',
      '00000000002a7160 t srtp_protect',
      '00000000002a64f0 t srtp_protect_mki',
      '                 U napi_create_error',
      '00000000006d4cc8 V _ZTISt11_Mutex_baseILN9__gnu_cxx12_Lock_policyE2EE',
      '00000000002a5c70 t srtp_init',
    ].join('\n');
    expect(symbolOffsets(nm, SRTP_SYMBOLS)).toEqual({ napi_register_module_v1: '00000000000e2840', srtp_protect: '00000000002a7160', srtp_init: '00000000002a5c70' });
  });
});

describe('napiStubs', () => {
  it('defines each imported N-API function once, nothing else', () => {
    const stubs = napiStubs(['                 U napi_create_error', '                 U napi_create_error', '                 U memcpy@GLIBC_2.14', '                 U node_api_symbol_for', '                 w __gmon_start__'].join('\n'));
    expect(stubs).toContain('void napi_create_error(void) { abort(); }');
    expect(stubs).toContain('void node_api_symbol_for(void) { abort(); }');
    expect(stubs.match(/napi_create_error/g)).toHaveLength(1);
    expect(stubs).not.toContain('memcpy');
    expect(stubs).not.toContain('gmon');
  });
});

describe('parseFloorSample', () => {
  it('reads the program line and refuses one without a sendto figure or with junk', () => {
    const line = JSON.stringify(sample(200, 4.8, 5.4));
    expect(parseFloorSample(line).srtpAes128GcmSendtoUs).toBe(5.4);
    expect(() => parseFloorSample(JSON.stringify({ ...sample(200, -1) }))).toThrow(/no sendto figure/);
    expect(() => parseFloorSample(JSON.stringify({ ...sample(200, 4), burst: 'ten' }))).toThrow(/burst/);
    expect(() => parseFloorSample('fanout-floor: bind: Address in use')).toThrow();
  });
});

describe('floorAt and floorRatios', () => {
  const samples = [sample(50, 6), sample(200, 5, 5.6), sample(600, 4, 4.4)];

  it('takes the sample with the nearest socket count', () => {
    expect(floorAt(samples, 25)?.sockets).toBe(50);
    expect(floorAt(samples, 300)?.sockets).toBe(200);
    expect(floorAt(samples, 5000)?.sockets).toBe(600);
    expect(floorAt([], 10)).toBeUndefined();
  });

  it('divides the cost per packet by the mean floors (SRTP only where it was measured)', () => {
    const r = floorRatios(10, samples)!;
    expect(r.sendtoUs).toBeCloseTo(5, 9);
    expect(r.ofSendto).toBeCloseTo(2, 9);
    expect(r.srtpSendtoUs).toBeCloseTo(5, 9);
    expect(r.ofSrtpSendto).toBeCloseTo(2, 9);
    expect(floorRatios(10, [sample(50, 5)])!.ofSrtpSendto).toBeNull();
    expect(floorRatios(10, [])).toBeNull();
    expect(floorRatios(Number.NaN, samples)).toBeNull();
  });
});

describe('floorSocketCounts', () => {
  it('keeps the non-zero steps, spread over the ramp when there are more than asked for', () => {
    expect(floorSocketCounts([0, 50, 150, 300])).toEqual([50, 150, 300]);
    expect(floorSocketCounts([0, 25, 50, 100, 200, 300, 400, 500, 600])).toEqual([25, 100, 400, 600]);
    expect(floorSocketCounts([0])).toEqual([]);
  });
});
