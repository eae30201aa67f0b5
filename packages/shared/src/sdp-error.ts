/** A description (SDP, trickle fragment, candidate) that does not follow its grammar; the message names the problem. */
export class SdpError extends Error {
  override name = 'SdpError';
}
