/**
 * The regions of changed pixels: a majority filter (a pixel stays changed when at least `MAJORITY` of the
 * nine pixels of its 3×3 neighbourhood changed, which removes sensor noise and the thin strokes of an
 * on-screen clock), then connected regions (8-connected) with their area and bounding box. Bounded: one
 * pass for the filter, one labelling pass with an explicit stack no deeper than the picture. Pure.
 */

export interface Region {
  /** Pixels in the region. */
  area: number;
  /** Bounding box in pixels: left, top, right and bottom (inclusive). */
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Of the 9 pixels around and including a changed pixel, this many must have changed for it to count. */
export const MAJORITY = 5;

/** `changed` filtered in place of `out`: 1 where the 3×3 neighbourhood has at least MAJORITY changed pixels. */
export function majorityFilter(changed: Uint8Array, width: number, height: number, out: Uint8Array): void {
  out.fill(0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * width + x;
      if (changed[at] === 0) continue;
      let count = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const row = y + dy;
        if (row < 0 || row >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const column = x + dx;
          if (column >= 0 && column < width) count += changed[row * width + column] as number;
        }
      }
      if (count >= MAJORITY) out[at] = 1;
    }
  }
}

/**
 * The 8-connected regions of the set pixels of `bitmap` with at least `minArea` pixels, largest first.
 * `scratch` (an Int32Array of width×height, kept by the caller) is the stack, never deeper than the picture.
 */
export function regionsOf(
  bitmap: Uint8Array,
  width: number,
  height: number,
  minArea: number,
  scratch: Int32Array,
): Region[] {
  const size = width * height;
  const stack = scratch;
  const seen = new Uint8Array(size);
  const regions: Region[] = [];
  for (let start = 0; start < size; start++) {
    if (bitmap[start] === 0 || seen[start] === 1) continue;
    seen[start] = 1;
    let depth = 0;
    stack[depth++] = start;
    const region: Region = { area: 0, left: width, top: height, right: -1, bottom: -1 };
    while (depth > 0) {
      const at = stack[--depth] as number;
      const x = at % width;
      const y = (at - x) / width;
      region.area++;
      if (x < region.left) region.left = x;
      if (x > region.right) region.right = x;
      if (y < region.top) region.top = y;
      if (y > region.bottom) region.bottom = y;
      for (let dy = -1; dy <= 1; dy++) {
        const row = y + dy;
        if (row < 0 || row >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const column = x + dx;
          if (column < 0 || column >= width) continue;
          const next = row * width + column;
          if (bitmap[next] === 0 || seen[next] === 1) continue;
          // Each pixel is pushed once (marked when pushed), so the stack never holds more than the picture.
          seen[next] = 1;
          stack[depth++] = next;
        }
      }
    }
    if (region.area >= minArea) regions.push(region);
  }
  return regions.sort((a, b) => b.area - a.area);
}
