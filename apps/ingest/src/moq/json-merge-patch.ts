/**
 * JSON Merge Patch (RFC 7396): how @moq/json's snapshot tracks carry an update of a catalog
 * after the snapshot that starts each group. Bounded in depth, since the patch comes from a
 * stranger and the algorithm recurses.
 */

export class MergePatchTooDeep extends Error {
  override name = 'MergePatchTooDeep';
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * RFC 7396 §2 `MergePatch(Target, Patch)`: objects merge member by member, `null` removes a
 * member, anything else (arrays included) replaces the target. Returns a new value; neither
 * argument is modified. Throws MergePatchTooDeep past `maxDepth` nested objects.
 */
export function applyMergePatch(target: unknown, patch: unknown, maxDepth = 32): unknown {
  if (!isObject(patch)) return patch;
  if (maxDepth <= 0) throw new MergePatchTooDeep('the merge patch nests objects too deeply');
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = applyMergePatch(result[name], value, maxDepth - 1);
  }
  return result;
}
