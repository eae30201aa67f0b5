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
 * | `onair:job:<id>` | hash | the stream's transcode job: which transcoder runs it, its HLS origin URL | TTL, renewed while it runs |
 * | `onair:job-seq:<id>` | integer | the job's last fencing token | durable, deleted with the stream |
 * | `onair:hls-position:<id>` | JSON | where the job's playlist stands (next MSN, discontinuities), for a successor | TTL 5 min, fenced |
 * | `onair:ingest-nodes` | sorted set node id → expiry ms | ingest nodes alive, with their URLs in `onair:ingest-node-urls` | members past expiry ignored |
 * | `onair:ingest-node-urls` | hash node id → URL | where each ingest node is reached (web proxies, dashboards) | pruned with the set |
 * | `onair:web-session-epoch` | string | the dashboard's session epoch (sign-out ends every session) | durable |
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
  job: (streamId: string) => `onair:job:${streamId}`,
  jobSeq: (streamId: string) => `onair:job-seq:${streamId}`,
  hlsPosition: (streamId: string) => `onair:hls-position:${streamId}`,
  ingestNodes: 'onair:ingest-nodes',
  ingestNodeUrls: 'onair:ingest-node-urls',
  webSessionEpoch: 'onair:web-session-epoch',
} as const;
