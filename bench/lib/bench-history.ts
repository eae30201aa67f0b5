/**
 * The history of bench runs per machine model (bench/results/history/<model>.jsonl, one JSON
 * record per `npm run bench`, appended by bench/summary.ts): the same commit gives different
 * figures on a 2-core Intel Xeon and a 2-core AMD EPYC, so a figure is only compared with earlier
 * runs on the same model. Pure: the summary does the file I/O.
 */

/** The headline figures of one run (null: not measured in it). */
export interface HistoryFigures {
  whepGlassToGlassMs: number | null;
  whepVideoOnlyGlassToGlassMs: number | null;
  audioJitterBufferMs: number | null;
  llhlsSiteGlassToGlassMs: number | null;
  llhlsDefaultsGlassToGlassMs: number | null;
  /** WHEP first frame from the player's start (its offer included). */
  whepFirstFrameP50Ms: number | null;
  whepFirstFrameP95Ms: number | null;
  /** WHEP first frame from the POST leaving; absent in runs before 2026-12-03. */
  whepPostToFirstFrameP50Ms?: number | null;
  watchPageFirstFrameP50Ms: number | null;
  ladderSpeedX: number | null;
  usPerForwardedPacket: number | null;
  floorSendtoUs: number | null;
  usPerForwardedPacketOfFloor: number | null;
  viewersPerCore: number | null;
}

export interface HistoryRecord {
  /** Identifies the run: the result files' own dates, so summarising twice appends once. */
  key: string;
  date: string;
  commit: string | null;
  machine: { cpus: number | null; model: string };
  loadBefore: number[] | null;
  quick: boolean;
  figures: HistoryFigures;
  /** Where the figures come from when not from this repository's result files. */
  note?: string;
}

/** A file name for a CPU model: `AMD EPYC` → `amd-epyc`, `Intel(R) Xeon(R) Processor` → `intel-xeon-processor`. */
export function historySlug(model: string): string {
  const slug = model
    .toLowerCase()
    .replace(/\((r|tm|c)\)/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug || 'unknown-cpu';
}

/** Appends `record` to a history file's text unless a record with its key is already there. */
export function appendHistory(existing: string, record: HistoryRecord): { text: string; appended: boolean } {
  const lines = existing.split('\n').filter((l) => l.trim() !== '');
  for (const line of lines) {
    try {
      if ((JSON.parse(line) as { key?: unknown }).key === record.key) return { text: existing, appended: false };
    } catch {
      // a line that is not JSON is kept as it is, and compared with nothing
    }
  }
  return { text: `${[...lines, JSON.stringify(record)].join('\n')}\n`, appended: true };
}

/** The records of a history file, oldest first; lines that are not records are skipped. */
export function readHistory(text: string): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const value = JSON.parse(line) as HistoryRecord;
      if (typeof value.key === 'string' && value.figures && typeof value.figures === 'object') records.push(value);
    } catch {
      // skipped
    }
  }
  return records;
}
