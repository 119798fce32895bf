/**
 * What recordings are kept: clips younger than `clips.retentionDays`; continuous footage while each camera
 * stays under its `recording.maxGigabytes` and all together under `recording.maxGigabytes`, the oldest
 * deleted first; a clip whose incident the event retention removed goes with it. A file goes before its row, so a failure in
 * between leaves a row to retry, never a file nobody knows of. Runs at start, hourly, and after each clip.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/schema.ts";
import type { Recording, RecordingIndex } from "./recording-index.ts";

const GIGABYTE = 1024 ** 3;

/**
 * The recordings to delete, oldest first: clips by age (and with their incident gone), and continuous
 * segments, oldest first, while a camera or the whole is over its budget. A clip is never deleted before its
 * own limit, whatever the budget: that is what "event clips are kept longer than continuous footage"
 * means; `overBudgetByClips` says when clips alone exceed a budget (the owner must give more room or keep
 * them for less time). Pure, so the rules are tested without files.
 */
export function recordingsToDelete(
  recordings: readonly Recording[],
  orphans: ReadonlySet<string>,
  rules: {
    clipMaxAgeMs: number;
    /** Continuous footage older than this goes (default: no age limit). */
    segmentMaxAgeMs?: number;
    totalMaxBytes: number | undefined;
    cameraMaxBytes: (camera: string) => number | undefined;
    /** Recordings a pinned incident holds: kept whatever their age or the budget, until it is unpinned. */
    pinned?: (recording: Recording) => boolean;
  },
  now: number,
): { doomed: Recording[]; overBudgetByClips: string[] } {
  const doomed = new Set<string>();
  const pinned = rules.pinned ?? (() => false);
  for (const recording of recordings) {
    if (pinned(recording)) continue;
    const maxAge = recording.kind === "clip" ? rules.clipMaxAgeMs : rules.segmentMaxAgeMs;
    const old = maxAge !== undefined && Date.parse(recording.start) < now - maxAge;
    if (old || orphans.has(recording.id)) doomed.add(recording.id);
  }
  const overBudgetByClips: string[] = [];
  const trim = (scope: string, own: readonly Recording[], limit: number | undefined) => {
    if (limit === undefined) return;
    const alive = own.filter((recording) => !doomed.has(recording.id));
    let bytes = alive.reduce((sum, recording) => sum + recording.bytes, 0);
    for (const recording of alive) {
      if (bytes <= limit) return;
      if (recording.kind === "clip" || pinned(recording)) continue;
      doomed.add(recording.id);
      bytes -= recording.bytes;
    }
    if (bytes > limit) overBudgetByClips.push(scope);
  };
  for (const camera of new Set(recordings.map((recording) => recording.camera)))
    trim(
      camera,
      recordings.filter((recording) => recording.camera === camera),
      rules.cameraMaxBytes(camera),
    );
  trim("all", recordings, rules.totalMaxBytes);
  return { doomed: recordings.filter((recording) => doomed.has(recording.id)), overBudgetByClips };
}

/** A minute of footage either side of a pinned incident is kept with it (its pre- and post-roll). */
const PINNED_MARGIN_MS = 60_000;

/** Whether a pinned incident holds this recording: its clip, or footage of its camera around its time. */
export function pinnedRecording(
  recording: Recording,
  pinnedIds: ReadonlySet<string>,
  pins: readonly { camera: string; start: number; end: number | null }[],
  now: number,
): boolean {
  if (recording.kind === "clip") return recording.incident !== null && pinnedIds.has(recording.incident);
  const start = Date.parse(recording.start);
  const end = start + (recording.durationMs ?? 0);
  return pins.some(
    (pin) =>
      pin.camera === recording.camera &&
      start < (pin.end ?? now) + PINNED_MARGIN_MS &&
      end > pin.start - PINNED_MARGIN_MS,
  );
}

export class RecordingRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(
    private readonly index: RecordingIndex,
    private readonly dir: string,
    private readonly config: Config,
    private readonly logger: Logger,
    /** Which of these incidents are still stored (a clip goes with its incident). */
    private readonly incidentsStored: (ids: readonly string[]) => Promise<ReadonlySet<string>>,
    /** The incidents users pinned: their clips and the footage around them stay. */
    private readonly pinnedIncidents: () => Promise<
      { id: string; camera: string; start: number; end: number | null }[]
    > = async () => [],
  ) {}

  start(): void {
    void this.run();
    this.timer = setInterval(() => void this.run(), 3600_000);
    this.timer.unref();
  }

  /**
   * One pass (a pass already under way is shared); resolves with how many recordings went. Never rejects:
   * a store that cannot be read (the database away, or closed at shutdown) is logged and tried next time.
   */
  run(now = Date.now()): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    this.running ??= this.pass(now)
      .catch((error: unknown) => {
        if (!this.stopped)
          this.logger.warn({ err: String(error) }, "recording retention failed; trying again later");
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(now: number): Promise<number> {
    const recording = this.config.recording;
    const settled = await this.index.settled();
    const clips = settled.filter((r) => r.kind === "clip");
    const stored = await this.incidentsStored(clips.flatMap((r) => (r.incident ? [r.incident] : [])));
    const pins = await this.pinnedIncidents();
    const pinnedIds = new Set(pins.map((p) => p.id));
    const { doomed, overBudgetByClips } = recordingsToDelete(
      settled,
      new Set(clips.filter((r) => !r.incident || !stored.has(r.incident)).map((r) => r.id)),
      {
        clipMaxAgeMs: recording.clips.retentionDays * 86_400_000,
        segmentMaxAgeMs: recording.continuousRetentionDays * 86_400_000,
        totalMaxBytes: recording.maxGigabytes === undefined ? undefined : recording.maxGigabytes * GIGABYTE,
        cameraMaxBytes: (camera) => {
          const own = this.config.cameras.find((c) => c.id === camera)?.recording?.maxGigabytes;
          return own === undefined ? undefined : own * GIGABYTE;
        },
        pinned: (r) => pinnedRecording(r, pinnedIds, pins, now),
      },
      now,
    );
    if (overBudgetByClips.length > 0)
      this.logger.warn(
        { over: overBudgetByClips },
        "event clips alone exceed the recording budget; they are kept until clips.retentionDays (give recording more room, or keep clips for less time)",
      );
    for (const recording of doomed) {
      try {
        await rm(join(this.dir, recording.file), { force: true });
        await this.index.remove(recording.id);
      } catch (error) {
        this.logger.warn(
          { camera: recording.camera, recording: recording.id, err: String(error) },
          "could not delete a recording",
        );
      }
    }
    return doomed.length;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }
}
