/** Where a camera has no footage: the parts of a window no recording covers. Pure. */
import type { Recording } from "./recording-index.ts";

/** Footage this much apart still counts as one (capture clocks and file edges jitter by a frame or two). */
export const GAP_TOLERANCE_MS = 1500;

/** The parts of [from, to) that no recording covers (one being written covers up to `now`). */
export function gapsOf(
  recordings: readonly Recording[],
  from: number,
  to: number,
  now: number,
): [number, number][] {
  const covered = recordings
    .map((r) => {
      const start = Date.parse(r.start);
      const end = r.durationMs !== null ? start + r.durationMs : r.end ? Date.parse(r.end) : now;
      return [start, end] as const;
    })
    .sort((a, b) => a[0] - b[0]);
  const gaps: [number, number][] = [];
  let at = from;
  for (const [start, end] of covered) {
    if (start - at > GAP_TOLERANCE_MS && start > at) gaps.push([at, Math.min(start, to)]);
    at = Math.max(at, end);
    if (at >= to) break;
  }
  if (to - at > GAP_TOLERANCE_MS) gaps.push([at, to]);
  return gaps.filter(([a, b]) => b > a);
}
