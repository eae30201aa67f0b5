/**
 * Which video codecs a stream needs as on-demand renditions: codecs its WHEP viewers negotiated
 * that the source is not in and the transcoder's ladder (always H.264) does not give. Such a
 * rendition costs an encode for as long as it runs, so the transcoder makes it only while this
 * says so (the `renditions.wanted` event). Pure.
 */

/** Codecs the transcoder makes on demand (libvpx VP8: what every browser decodes, H.264 or not). */
export const ON_DEMAND_CODECS: readonly string[] = ['VP8'];

/** `viewerCodecs`: the video codec of each WHEP viewer; `sourceCodec`: the publisher's. Sorted, upper case. */
export function onDemandCodecsWanted(viewerCodecs: Iterable<string>, sourceCodec: string | undefined): string[] {
  const source = sourceCodec?.toUpperCase();
  const wanted = new Set<string>();
  for (const codec of viewerCodecs) {
    const upper = codec.toUpperCase();
    if (upper !== source && ON_DEMAND_CODECS.includes(upper)) wanted.add(upper);
  }
  return [...wanted].sort();
}

export interface VideoCodecOption {
  name: string;
  clockRate: number;
  fmtp?: string;
}

/**
 * The video codecs a WHEP viewer of a live stream can be served, in the order its offer is
 * matched: the source's (forwarded as is), then each rendition set's, then those the transcoder
 * makes on demand — offered only when a transcoder serves this stream (a set is attached), since
 * nobody else would make them.
 */
export function webrtcVideoCodecs(source: VideoCodecOption | undefined, sets: ReadonlyArray<{ codec: string; fmtp?: string }>): VideoCodecOption[] {
  const out: VideoCodecOption[] = [];
  const add = (codec: VideoCodecOption) => {
    if (!out.some((known) => known.name.toUpperCase() === codec.name.toUpperCase())) out.push(codec);
  };
  if (source) add(source);
  for (const set of sets) add({ name: set.codec, clockRate: 90000, ...(set.fmtp ? { fmtp: set.fmtp } : {}) });
  if (sets.length > 0) for (const name of ON_DEMAND_CODECS) add({ name, clockRate: 90000 });
  return out;
}
