/**
 * Every Redis key and channel of an onair cluster, in one place (the ingest, the transcoder and,
 * later, the web app read the same ones). Nothing else in the code spells a key.
 *
 * | key | type | what | lifetime |
 * | --- | --- | --- | --- |
 * | `onair:streams` | hash id → JSON record | streams and their keys | durable (AOF) |
 * | `onair:stream-names` | hash name → id | unique name index | durable |
 * | `onair:stream-keys` | hash stream key → id | key index (WHIP auth) | durable |
 * | `onair:live:<id>` | hash | the stream's lease: which ingest node holds its publisher | TTL, renewed while live |
 * | `onair:lease-seq:<id>` | integer | the stream's last fencing token | durable, deleted with the stream |
 * | `onair:transcoder:<instance>` | string owner | a transcoder process's forward lease | TTL, renewed while it runs |
 * | `onair:transcoder-owner:<owner>` | string instance | the newest instance of a transcoder name | TTL |
 *
 * Channel `onair:events` carries cluster-events.ts messages (pub/sub).
 */
export const CLUSTER_EVENTS_CHANNEL = 'onair:events';

export const clusterKeys = {
  streams: 'onair:streams',
  streamNames: 'onair:stream-names',
  streamKeys: 'onair:stream-keys',
  live: (streamId: string) => `onair:live:${streamId}`,
  livePattern: 'onair:live:*',
  leaseSeq: (streamId: string) => `onair:lease-seq:${streamId}`,
  transcoder: (instance: string) => `onair:transcoder:${instance}`,
  transcoderOwner: (owner: string) => `onair:transcoder-owner:${owner}`,
} as const;
