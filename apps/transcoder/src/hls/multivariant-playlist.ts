/**
 * Renders the multivariant playlist (RFC 8216bis §4.4.6): one EXT-X-STREAM-INF per rendition,
 * each rendition carrying its video and audio muxed together, so no EXT-X-MEDIA groups.
 */

export interface VariantInfo {
  uri: string;
  /** Peak bits per second (§4.4.6.2: the largest segment bit rate). */
  bandwidth: number;
  averageBandwidth?: number;
  /** RFC 6381 codec strings of every track, e.g. `['avc1.64001f', 'mp4a.40.2']`. */
  codecs: string[];
  width?: number;
  height?: number;
  frameRate?: number;
}

export function renderMultivariantPlaylist(variants: VariantInfo[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-INDEPENDENT-SEGMENTS'];
  // Order kept as added: clients start with the first variant listed (§4.4.6.2 leaves it to the
  // server), so the ladder's order decides the start rendition.
  for (const variant of variants) {
    const attributes = [`BANDWIDTH=${Math.round(variant.bandwidth)}`];
    if (variant.averageBandwidth !== undefined) attributes.push(`AVERAGE-BANDWIDTH=${Math.round(variant.averageBandwidth)}`);
    if (variant.codecs.length > 0) attributes.push(`CODECS="${variant.codecs.join(',')}"`);
    if (variant.width && variant.height) attributes.push(`RESOLUTION=${variant.width}x${variant.height}`);
    if (variant.frameRate) attributes.push(`FRAME-RATE=${variant.frameRate.toFixed(3)}`);
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`);
    lines.push(variant.uri);
  }
  return `${lines.join('\n')}\n`;
}
