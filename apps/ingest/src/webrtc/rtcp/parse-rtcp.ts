/**
 * Everything onair reads from a viewer's RTCP, from one compound datagram, in order: loss
 * feedback (NACK, PLI, FIR), reception reports (RR, and an SR's blocks), REMB and transport-wide
 * CC feedback. Other packets (SDES, BYE, XR, …) are skipped; a malformed packet is skipped, a bad
 * length ends the walk (rtcp-header.ts). Pure, never throws.
 */
import { decodeLossFeedback, type LossFeedback } from './feedback-messages';
import { decodeReceiverReport, type ReceiverReport } from './receiver-report';
import { decodeRemb, type Remb } from './remb';
import { rtcpPackets } from './rtcp-header';
import { decodeTransportCcFeedback, type TransportCcFeedback } from './transport-cc-feedback';

export type RtcpMessage = LossFeedback | ReceiverReport | Remb | TransportCcFeedback;

export function parseRtcp(data: Uint8Array): RtcpMessage[] {
  const out: RtcpMessage[] = [];
  for (const view of rtcpPackets(data)) {
    const message = decodeReceiverReport(view) ?? decodeRemb(view) ?? decodeTransportCcFeedback(view) ?? decodeLossFeedback(view);
    if (message) out.push(message);
  }
  return out;
}
