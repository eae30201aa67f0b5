/**
 * One subscribed MoQ track through its pipeline: groups as moq-lite delivers them (each on its
 * own QUIC stream), each read frame by frame. Once a group has delivered a frame, older groups
 * are closed — their remaining frames would be late, and closing stops their streams — and a
 * frame still arriving from one is dropped by the pipeline as late. (@moq/lite's own
 * `readFrameSequence` skips a group as soon as a newer one is announced, even with its frames on
 * the way: in a burst, audio groups of one frame each were lost that way.)
 */
import type { Moq } from './moq-types';
import type { PipelineResult, TrackPipeline } from './track-pipeline';

export interface TrackReaderCallbacks {
  /** Frames that became packets, in order. May throw (a bug downstream): the track then ends with `internal_error`. */
  onResult(result: Extract<PipelineResult, { kind: 'packets' }>): void;
  /** Called once: the track ended (`track_closed` by the publisher, `track_error`, a pipeline failure reason, `internal_error`). */
  onEnd(reason: string, detail: string): void;
  /** True once the reader should stop quietly (the session or the track is over). */
  stopped(): boolean;
}

export function readMoqTrack(track: Moq.Track, pipeline: TrackPipeline, callbacks: TrackReaderCallbacks): void {
  let ended = false;
  const end = (reason: string, detail: string) => {
    if (ended || callbacks.stopped()) return;
    ended = true;
    callbacks.onEnd(reason, detail);
  };
  const open = new Map<number, Moq.Group>();

  const readGroup = async (group: Moq.Group): Promise<void> => {
    try {
      for (let index = 0; ; index += 1) {
        let data: Uint8Array | undefined;
        try {
          data = await group.readFrame();
        } catch {
          return; // reset by the publisher, or closed by us as late: its frames are simply not there
        }
        if (!data || ended || callbacks.stopped()) return;
        try {
          const result = pipeline.process({ group: group.sequence, index, data });
          if (result.kind === 'failed') return end(result.reason, result.detail);
          if (index === 0 && result.kind !== 'dropped') {
            for (const [sequence, older] of open) if (sequence < group.sequence) older.close();
          }
          if (result.kind === 'packets') callbacks.onResult(result);
        } catch (error) {
          // A bug here or downstream: it ends this track, not the process.
          return end('internal_error', String((error as Error)?.message ?? error));
        }
      }
    } finally {
      open.delete(group.sequence);
    }
  };

  void (async () => {
    for (;;) {
      let group: Moq.Group | undefined;
      try {
        group = await track.recvGroup();
      } catch (error) {
        return end('track_error', String((error as Error)?.message ?? error));
      }
      if (ended || callbacks.stopped()) return;
      if (!group) return end('track_closed', 'the publisher ended the track');
      open.set(group.sequence, group);
      void readGroup(group);
    }
  })();
}
