/** The `max_layers` limit, with the same definition as Defuser's `is_within_max_layers`. */

// A `layers.<n>` segment: `layers` must start the path or follow a dot, and the number must end the path
// or be followed by a dot, so `xlayers.3` and `layers.3x` do not count. `(?=\n?$)` is PCRE's `$`, which
// also matches before a final newline.
const LAYER_SEGMENT = /(?:^|\.)layers\.(\d+)(?:\.|(?=\n?$))/;

/** Returns the `layers.<n>` index in a module path (first occurrence), or null. */
export function layerIndexOf(modulePath: string): number | null {
  const match = LAYER_SEGMENT.exec(modulePath);
  if (match === null) {
    return null;
  }
  return Number(match[1]);
}

/**
 * Whether the path is kept by max_layers (null = no limit). A path without a `layers.<n>` segment is
 * always kept; otherwise the index must be strictly below `maxLayers`. A limit below 1 keeps nothing.
 */
export function withinMaxLayers(modulePath: string, maxLayers: number | null): boolean {
  if (maxLayers === null) {
    return true;
  }
  if (maxLayers < 1) {
    return false;
  }
  const layer = layerIndexOf(modulePath);
  return layer === null || layer < maxLayers;
}
