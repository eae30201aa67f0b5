/**
 * Renders an HLS media playlist (RFC 8216bis §4.4) from a snapshot. Pure: the same model gives
 * the same text. With `lowLatency` it carries the LL-HLS tags (parts, preload hint, server
 * control, rendition reports); without, it is a plain live playlist for any HLS client.
 */

export interface PlaylistPart {
  duration: number;
  uri: string;
  independent: boolean;
}

export interface PlaylistSegment {
  msn: number;
  /** Seconds; for the segment in progress, the sum of its parts so far. */
  duration: number;
  /** Absent while the segment is in progress (only its parts are listed then). */
  uri?: string;
  discontinuity: boolean;
  /** EXT-X-MAP URI to write before this segment (first segment, or the init changed). */
  map?: string;
  /** Wall-clock time of the segment's first sample, ms since the epoch. */
  programDateTime?: number;
  /** Listed (as EXT-X-PART) only for the last few segments. */
  parts?: PlaylistPart[];
}

export interface RenditionReport {
  uri: string;
  lastMsn: number;
  lastPart: number;
}

export interface MediaPlaylistModel {
  lowLatency: boolean;
  /** EXT-X-TARGETDURATION, whole seconds. */
  targetDuration: number;
  partTarget: number;
  mediaSequence: number;
  discontinuitySequence: number;
  /** Oldest first; the last may be in progress (no `uri`). */
  segments: PlaylistSegment[];
  preloadHintUri?: string;
  renditionReports: RenditionReport[];
  ended: boolean;
}

/** Seconds with millisecond-or-better precision and no float noise (e.g. 0.2, not 0.20000000000000004). */
export function formatSeconds(value: number, digits = 5): string {
  return value.toFixed(digits);
}

export function renderMediaPlaylist(model: MediaPlaylistModel): string {
  const lines = ['#EXTM3U'];
  // Version 9 covers everything LL-HLS uses; 6 is what EXT-X-MAP needs (RFC 8216bis §7).
  lines.push(`#EXT-X-VERSION:${model.lowLatency ? 9 : 6}`);
  lines.push(`#EXT-X-TARGETDURATION:${model.targetDuration}`);
  if (model.lowLatency) {
    // §4.4.3.8: PART-HOLD-BACK at least twice, SHOULD be three times the part target;
    // HOLD-BACK at least three target durations.
    const partHoldBack = 3 * model.partTarget;
    lines.push(`#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${formatSeconds(partHoldBack, 3)},HOLD-BACK=${formatSeconds(3 * model.targetDuration, 3)}`);
    lines.push(`#EXT-X-PART-INF:PART-TARGET=${formatSeconds(model.partTarget, 3)}`);
  }
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${model.mediaSequence}`);
  if (model.discontinuitySequence > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${model.discontinuitySequence}`);
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');

  for (const segment of model.segments) {
    if (!model.lowLatency && !segment.uri) break;
    if (segment.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (segment.map) lines.push(`#EXT-X-MAP:URI="${segment.map}"`);
    if (segment.programDateTime !== undefined) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTime).toISOString()}`);
    if (model.lowLatency && segment.parts) {
      for (const part of segment.parts) {
        lines.push(`#EXT-X-PART:DURATION=${formatSeconds(part.duration)},URI="${part.uri}"${part.independent ? ',INDEPENDENT=YES' : ''}`);
      }
    }
    if (segment.uri) {
      lines.push(`#EXTINF:${formatSeconds(segment.duration)},`);
      lines.push(segment.uri);
    }
  }
  if (model.ended) {
    lines.push('#EXT-X-ENDLIST');
  } else if (model.lowLatency) {
    // §4.4.5.3: the next part's URI, so clients can ask for it before it exists.
    if (model.preloadHintUri) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${model.preloadHintUri}"`);
  }
  if (model.lowLatency) {
    for (const report of model.renditionReports) {
      lines.push(`#EXT-X-RENDITION-REPORT:URI="${report.uri}",LAST-MSN=${report.lastMsn},LAST-PART=${report.lastPart}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
