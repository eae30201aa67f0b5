/**
 * Renders the multivariant playlist (RFC 8216bis §4.4.6): one EXT-X-STREAM-INF per video
 * rendition and, when the stream has sound, one audio rendition (EXT-X-MEDIA, §4.4.6.1) that
 * every variant names in its AUDIO attribute: the audio is encoded and packaged once, not muxed
 * into each variant.
 */

export interface VariantInfo {
  uri: string;
  /** Peak bits per second (§4.4.6.2: the largest segment bit rate, its audio rendition's included). */
  bandwidth: number;
  averageBandwidth?: number;
  /** RFC 6381 codec strings of every track, its audio rendition's included, e.g. `['avc1.64001f', 'mp4a.40.2']`. */
  codecs: string[];
  width?: number;
  height?: number;
  frameRate?: number;
  /** GROUP-ID of the audio rendition that plays with this variant. */
  audioGroup?: string;
}

export interface AudioRenditionInfo {
  groupId: string;
  name: string;
  uri: string;
  /** Channel count (§4.4.6.1: CHANNELS is required when renditions of a group differ; said anyway). */
  channels?: number;
}

export function renderMultivariantPlaylist(variants: VariantInfo[], audio: AudioRenditionInfo[] = []): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const rendition of audio) {
    // DEFAULT and AUTOSELECT: the one audio a player should pick without asking (§4.4.6.1.1).
    const attributes = ['TYPE=AUDIO', `GROUP-ID="${rendition.groupId}"`, `NAME="${rendition.name}"`, 'DEFAULT=YES', 'AUTOSELECT=YES'];
    if (rendition.channels) attributes.push(`CHANNELS="${rendition.channels}"`);
    attributes.push(`URI="${rendition.uri}"`);
    lines.push(`#EXT-X-MEDIA:${attributes.join(',')}`);
  }
  // Order kept as added: clients start with the first variant listed (§4.4.6.2 leaves it to the
  // server), so the ladder's order decides the start rendition.
  for (const variant of variants) {
    const attributes = [`BANDWIDTH=${Math.round(variant.bandwidth)}`];
    if (variant.averageBandwidth !== undefined) attributes.push(`AVERAGE-BANDWIDTH=${Math.round(variant.averageBandwidth)}`);
    if (variant.codecs.length > 0) attributes.push(`CODECS="${variant.codecs.join(',')}"`);
    if (variant.width && variant.height) attributes.push(`RESOLUTION=${variant.width}x${variant.height}`);
    if (variant.frameRate) attributes.push(`FRAME-RATE=${variant.frameRate.toFixed(3)}`);
    if (variant.audioGroup) attributes.push(`AUDIO="${variant.audioGroup}"`);
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`);
    lines.push(variant.uri);
  }
  return `${lines.join('\n')}\n`;
}
