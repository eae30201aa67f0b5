/**
 * The page a problem's `type` URI resolves to. Problems carry `type: "/problems/<code>"`, a
 * relative reference (RFC 9457 §3.1.1), so it resolves against the service that answered and each
 * service serves this page there: the documentation lives with the software, not on a domain.
 * Pure: the services and the web app wrap it in their own route.
 */
import { errorStatus, OnairError, type ErrorCode } from './errors';

/** What each code means and what to do about it. A code without an entry still gets a page. */
const meanings: Partial<Record<ErrorCode, string>> = {
  bad_request: 'The request is malformed (for example a path with broken percent-encoding).',
  invalid_body: 'The body is not valid JSON or does not match the schema; the problem lists every issue.',
  invalid_sdp: 'The SDP offer could not be parsed or used (no ICE credentials, no DTLS fingerprint, no usable m-line).',
  invalid_ice_fragment: 'The trickle ICE PATCH body is not a valid SDP fragment (RFC 8840).',
  invalid_profile: 'The transcoding profile does not validate; the problem lists every issue.',
  missing_credentials: 'Send the credential as "Authorization: Bearer <token>": the stream key for WHIP, the admin token for the admin API.',
  invalid_stream_key: 'No stream has this key. Keys change when a stream is rotated or deleted; copy the current one from the dashboard.',
  invalid_admin_token: 'The admin token is wrong. It is ONAIR_ADMIN_TOKEN, or the admin-token file in the data directory.',
  not_found: 'Nothing is served at this path.',
  stream_not_found: 'No stream has this name or id.',
  session_not_found: 'The WHIP or WHEP session is gone (ended, timed out or never created); start a new one with POST.',
  job_not_found: 'No transcode job runs for this stream.',
  profile_not_found: 'No transcoding profile has this name.',
  stream_offline: 'The stream exists but nobody is publishing it right now.',
  method_not_allowed: 'The path exists but not with this method; the Allow header lists the ones that do.',
  no_supported_codec: 'The offer has no codec onair can take or send (H.264 or VP8 video, Opus audio); the problem lists the accepted ones.',
  stream_name_taken: 'Another stream already has this name.',
  publisher_already_live: 'The stream already has a publisher.',
  profile_in_use: 'The profile is used by a stream; choose another profile for it first.',
  too_many_forwards: 'The stream already has as many forwards to transcoders as the ingest allows; delete one first.',
  forward_lease_unknown: 'A forward must be created by a transcoder that holds its event stream open (GET /api/events?owner=…&instance=…): the forward ends when that connection does.',
  job_elsewhere: 'In a cluster, exactly one transcoder runs each stream\'s job: another transcoder holds this one\'s lease. Ask that transcoder (the problem names it), or wait: if it dies, another takes the job over.',
  not_origin: 'An edge asked this node for a stream as its origin, but this node no longer holds the stream\'s lease (it moved to another node): the edge looks the stream up again.',
  loop_detected: 'An edge pull came back to a node it already passed (ONAIR_EDGE_UPSTREAM forms a cycle) or went through too many edges; fix the edges\' upstreams.',
  rendition_not_found: 'The stream has no rendition of this name that this WHEP session can receive; GET the session\'s layer resource for the ones it has.',
  renditions_in_use: 'Another transcoder instance sends this stream\'s renditions; only one may at a time.',
  etag_mismatch: 'If-Match does not name the session\'s current ETag: an ICE restart happened in between.',
  body_too_large: 'The request body is larger than this endpoint accepts.',
  sdp_too_large: 'The SDP offer is larger than the ingest accepts.',
  unsupported_media_type: 'The Content-Type is not the one this endpoint takes (application/sdp, application/trickle-ice-sdpfrag or application/json).',
  ice_restart_unsupported: 'This session cannot restart ICE; end it and start a new one.',
  too_many_attempts: 'Too many requests from this address or in total; wait (see Retry-After) and try again.',
  internal_error: 'The server failed; the detail says nothing about internals, the server\'s log has the cause.',
  unavailable: 'The service cannot take this now (for example no UDP port left for media); try again later.',
  upstream_unreachable: 'A service behind this one (the ingest or the transcoder) did not answer.',
  ffmpeg_missing: 'ffmpeg is not installed where the transcoder runs (apt-get install ffmpeg).',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** The HTML page for a code, or undefined for a string that is not one of onair's codes. */
export function problemPage(code: string): string | undefined {
  if (!Object.hasOwn(errorStatus, code)) return undefined;
  const known = code as ErrorCode;
  const { title, status } = new OnairError(known, '').toProblem();
  const meaning = meanings[known] ?? 'See the problem\'s detail member for what happened.';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — onair problem</title></head>
<body><h1>${escapeHtml(title)}</h1>
<p>HTTP ${status}, code <code>${escapeHtml(known)}</code>.</p>
<p>${escapeHtml(meaning)}</p>
<p>Clients match on the problem's <code>code</code> member; its <code>detail</code> says what happened in that request.</p>
</body></html>
`;
}
