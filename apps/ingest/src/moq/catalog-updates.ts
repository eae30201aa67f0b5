/**
 * The `catalog.json` track as @moq/json's snapshot producer writes it: every group starts with
 * a full snapshot (frame 0), later frames of the group are RFC 7396 merge patches of it, and a
 * new group replaces everything. `<moq-publish>` sends several snapshots while its encoders come
 * up (`{}` → video → video + audio, spike), so the reader keeps reading. Pure: frames in,
 * catalogs out.
 */
import { type CatalogLimits, DEFAULT_CATALOG_LIMITS, type HangCatalog, parseCatalogJson, validateCatalog } from './hang-catalog';
import { applyMergePatch, MergePatchTooDeep } from './json-merge-patch';

export type CatalogUpdate =
  | { kind: 'catalog'; catalog: HangCatalog }
  /** Not applied and not an error: a group older than the current one, or a patch after a gap. */
  | { kind: 'ignored'; reason: 'late_group' | 'patch_without_snapshot' }
  | { kind: 'invalid'; reason: 'catalog_too_large' | 'catalog_invalid'; detail: string };

export interface CatalogUpdatesOptions extends CatalogLimits {
  /** Catalog frames accepted per session; past it every frame is invalid (default 1000). */
  maxUpdates: number;
}

export class CatalogUpdates {
  private readonly options: CatalogUpdatesOptions;
  private group = -1;
  private frame = -1;
  /** The current catalog as JSON (patches apply to it), once a snapshot was read. */
  private value: unknown;
  private updates = 0;

  constructor(options: Partial<CatalogUpdatesOptions> = {}) {
    this.options = { ...DEFAULT_CATALOG_LIMITS, maxUpdates: 1000, ...options };
  }

  /** Frames read so far that changed the catalog (snapshots and patches). */
  get count(): number {
    return this.updates;
  }

  /** One frame of the track: `group` sequence and `frame` index within it, as moq-lite numbers them. */
  push(group: number, frame: number, bytes: Uint8Array): CatalogUpdate {
    if (group < this.group) return { kind: 'ignored', reason: 'late_group' };
    const snapshot = frame === 0;
    if (!snapshot && (group !== this.group || frame !== this.frame + 1)) return { kind: 'ignored', reason: 'patch_without_snapshot' };
    if (this.updates >= this.options.maxUpdates) return { kind: 'invalid', reason: 'catalog_invalid', detail: `more than ${this.options.maxUpdates} catalog updates` };
    const json = parseCatalogJson(bytes, this.options);
    if (!json.ok) return { kind: 'invalid', reason: json.reason, detail: json.detail };
    let value: unknown;
    try {
      value = snapshot ? json.value : applyMergePatch(this.value, json.value);
    } catch (error) {
      if (error instanceof MergePatchTooDeep) return { kind: 'invalid', reason: 'catalog_invalid', detail: error.message };
      throw error;
    }
    // Patches could grow a catalog past the bound one small frame at a time.
    if (!snapshot) {
      let bytes: number;
      try {
        bytes = JSON.stringify(value).length;
      } catch {
        // Arrays the patch depth does not count, nested ~32 000 deep in 64 KiB: a RangeError.
        return { kind: 'invalid', reason: 'catalog_invalid', detail: 'the patched catalog nests too deeply' };
      }
      if (bytes > this.options.maxBytes) return { kind: 'invalid', reason: 'catalog_too_large', detail: `patched past ${this.options.maxBytes} bytes` };
    }
    const result = validateCatalog(value, this.options);
    if (!result.ok) return { kind: 'invalid', reason: result.reason, detail: result.detail };
    this.group = group;
    this.frame = frame;
    this.value = value;
    this.updates += 1;
    return { kind: 'catalog', catalog: result.catalog };
  }
}
