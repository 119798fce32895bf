/**
 * The last seconds of a stream, kept so that a clip can begin before the event that asked for it: whole
 * GOPs (a clip must start at a keyframe to be decodable), as many as cover `preRollMs` before now, bounded
 * in bytes (a camera with a 10 s GOP and a 5 s pre-roll keeps two GOPs, never more than `maxBytes`). No I/O.
 */
import type { HubUnit } from "../relay/stream-hub.ts";

/** Pictures held at most: 60 s at 60 fps; each costs its bookkeeping beside its bytes. */
const MAX_PRE_ROLL_UNITS = 3600;

export class PreRollRing {
  /** GOPs, oldest first; each starts with its keyframe. */
  private gops: HubUnit[][] = [];
  private bytes = 0;
  private units = 0;

  constructor(
    private readonly preRollMs: number,
    private readonly maxBytes: number,
  ) {}

  push(unit: HubUnit): void {
    if (unit.keyframe) this.gops.push([unit]);
    else {
      const current = this.gops.at(-1);
      // Nothing to decode it against: units before the first keyframe are of no use to a clip.
      if (!current) return;
      current.push(unit);
    }
    this.bytes += unit.bytes;
    this.units++;
    this.trim(unit.receivedAt);
  }

  /**
   * Drops GOPs no clip can need: while the next GOP alone still reaches back `preRollMs`, or over budget.
   * A GOP that alone outgrows the budget (a camera that sends no keyframe again, or a hostile one's many
   * tiny pictures) is dropped too: a clip then starts at the next keyframe, and memory stays bounded.
   */
  private trim(now: number): void {
    while (this.gops.length > 1) {
      const next = this.gops[1]?.[0];
      const overBudget = this.overBudget();
      if (!overBudget && (next === undefined || next.receivedAt > now - this.preRollMs)) break;
      const dropped = this.gops.shift() ?? [];
      this.units -= dropped.length;
      for (const unit of dropped) this.bytes -= unit.bytes;
    }
    if (this.overBudget()) this.clear();
  }

  private overBudget(): boolean {
    return this.bytes > this.maxBytes || this.units > MAX_PRE_ROLL_UNITS;
  }

  /** The units a clip starting `preRollMs` before `at` begins with: from the last keyframe at or before then. */
  since(at: number): HubUnit[] {
    const from = at - this.preRollMs;
    let start = 0;
    for (let i = 0; i < this.gops.length; i++)
      if ((this.gops[i]?.[0]?.receivedAt ?? Infinity) <= from) start = i;
    return this.gops.slice(start).flat();
  }

  /** A new stream (a reconnect with new parameter sets): what was kept no longer decodes with it. */
  clear(): void {
    this.gops = [];
    this.bytes = 0;
    this.units = 0;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}
