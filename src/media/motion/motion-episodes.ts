/**
 * From pictures with or without motion to episodes with a start and an end, as an owner means "there was
 * motion": an episode starts once motion lasted `minDurationMs` (a bird crossing in one picture is not one)
 * with no gap longer than `maxGapMs` between pictures that saw it, and ends once `holdMs` passed without
 * any (a person who stands still for a moment is one episode, not two). Zones entered during an episode are
 * reported as they are entered. Pure: time is passed in.
 */

export interface EpisodeSettings {
  minDurationMs: number;
  maxGapMs: number;
  holdMs: number;
}

export const DEFAULT_EPISODE_SETTINGS: EpisodeSettings = {
  minDurationMs: 600,
  maxGapMs: 1_000,
  holdMs: 5_000,
};

export type EpisodeChange =
  | { kind: "start"; at: number; zones: string[] }
  /** Zones the going episode entered since it was last told. */
  | { kind: "zones"; at: number; zones: string[]; added: string[] }
  | { kind: "stop"; at: number; zones: string[] };

export class MotionEpisodes {
  private candidateSince: number | undefined;
  private candidateFrames = 0;
  private lastMotionAt: number | undefined;
  private active = false;
  private zones = new Set<string>();

  constructor(private readonly settings: EpisodeSettings = DEFAULT_EPISODE_SETTINGS) {}

  get isActive(): boolean {
    return this.active;
  }

  /** When motion was last seen (ms), if ever. */
  get lastMotion(): number | undefined {
    return this.lastMotionAt;
  }

  /** One picture's verdict at `at`; what changed, if anything. */
  push(motion: boolean, zones: readonly string[], at: number): EpisodeChange | undefined {
    const ended = this.tick(at);
    if (ended) {
      // The episode ended before this picture: this picture may begin the next one.
      this.observe(motion, zones, at);
      return ended;
    }
    return this.observe(motion, zones, at);
  }

  /** Time passing without pictures (a camera that stopped sending): ends an episode after the hold. */
  tick(at: number): EpisodeChange | undefined {
    if (!this.active || this.lastMotionAt === undefined || at - this.lastMotionAt < this.settings.holdMs)
      return undefined;
    this.active = false;
    const zones = [...this.zones];
    this.zones = new Set();
    this.candidateSince = undefined;
    this.candidateFrames = 0;
    return { kind: "stop", at, zones };
  }

  private observe(motion: boolean, zones: readonly string[], at: number): EpisodeChange | undefined {
    if (!motion) {
      if (
        !this.active &&
        this.lastMotionAt !== undefined &&
        at - this.lastMotionAt > this.settings.maxGapMs
      ) {
        this.candidateSince = undefined;
        this.candidateFrames = 0;
        this.zones = new Set();
      }
      return undefined;
    }
    if (!this.active && this.lastMotionAt !== undefined && at - this.lastMotionAt > this.settings.maxGapMs) {
      this.candidateSince = undefined;
      this.candidateFrames = 0;
      this.zones = new Set();
    }
    this.lastMotionAt = at;
    const added = zones.filter((zone) => !this.zones.has(zone));
    for (const zone of added) this.zones.add(zone);
    if (this.active)
      return added.length > 0 ? { kind: "zones", at, zones: [...this.zones], added } : undefined;
    this.candidateSince ??= at;
    this.candidateFrames++;
    if (this.candidateFrames < 2 || at - this.candidateSince < this.settings.minDurationMs) return undefined;
    this.active = true;
    return { kind: "start", at, zones: [...this.zones] };
  }
}
