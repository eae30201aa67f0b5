/**
 * Messages on the cluster's event channel (Redis pub/sub, `CLUSTER_EVENTS_CHANNEL`), shared by
 * the ingest nodes and the transcoders. Pub/sub delivers to whoever listens now and keeps
 * nothing: a process that (re)subscribes reads the current state from the keys first (the
 * leases), exactly as the single node's event stream replays the live streams on connect.
 *
 * - `stream.live`: a node's publisher holds the stream's lease (token = its fencing token; a
 *   higher token always wins). Published by the lease script itself, so messages of one stream
 *   go out in token order.
 * - `stream.offline`: the lease holder released it (the publisher left); not sent on a takeover.
 * - `stream.deleted`, `stream.key-rotated`: the node holding the publisher closes it.
 * - `transcoder.replaced`: a transcoder name (`owner`) has a new process (`instance`); forwards
 *   of its older instances end at once.
 * - `stream.renditions-wanted`: the codecs the origin's viewers need that only an on-demand
 *   rendition gives them (`["VP8"]`; `[]` once none does). Sent at each change and again every
 *   lease renewal while not empty, since pub/sub keeps nothing: a transcoder that takes the job
 *   over, or (re)subscribes, hears it within a renewal, and a want not heard again expires.
 */
import { z } from 'zod';

const name = z.string().min(1).max(256);

export const clusterEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stream.live'), streamId: name, name: z.string().max(256), node: name, url: z.string().max(2048), token: z.coerce.number().int().min(1) }),
  z.object({ type: z.literal('stream.offline'), streamId: name, name: z.string().max(256), node: name, token: z.coerce.number().int().min(1) }),
  z.object({ type: z.literal('stream.deleted'), streamId: name }),
  z.object({ type: z.literal('stream.key-rotated'), streamId: name }),
  z.object({ type: z.literal('transcoder.replaced'), owner: name, instance: name }),
  z.object({ type: z.literal('stream.renditions-wanted'), streamId: name, node: name, codecs: z.array(z.string().min(1).max(32)).max(8) }),
]);

export type ClusterEvent = z.infer<typeof clusterEventSchema>;

/** A message from the channel, or undefined when it is not one of ours (logged by the caller). */
export function parseClusterEvent(message: string): ClusterEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  const parsed = clusterEventSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
