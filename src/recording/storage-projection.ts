/**
 * Storage an owner can reason about: per camera, the bytes its continuous footage really takes a day (measured
 * over the last week of what it wrote), how many days are kept now, and how many days the rules keep at that
 * rate, with the rule that decides: the age limit (`continuousRetentionDays`), its own budget
 * (`cameras[].recording.maxGigabytes`), its share of the global budget (`recording.maxGigabytes`, shared by
 * every camera's rate), or the disk. "Front yard: 11.5 days (its budget of 50 GB at 4.3 GB a day)". Below
 * the camera's `recording.minDays`, it says so. Pure: recordings and rules in, numbers out.
 */
import type { Config } from "../config/schema.ts";
import type { Recording } from "./recording-index.ts";

const GIGABYTE = 1024 ** 3;
const DAY = 86_400_000;
/** Less footage than this measures nothing yet. */
const MIN_MEASURED_MS = 10 * 60_000;
const WINDOW_MS = 7 * DAY;

export type RetentionLimit = "age" | "camera-budget" | "global-budget" | "disk";

export interface CameraStorage {
  camera: string;
  continuousBytes: number;
  clipBytes: number;
  /** Bytes of continuous footage a day, measured; null until there is enough to measure. */
  bytesPerDay: number | null;
  /** Age of the oldest continuous footage kept (days); 0 without any. */
  keptDays: number;
  /** How many days the rules keep at this rate, and which rule decides; null while measuring. */
  projectedDays: number | null;
  limit: RetentionLimit | null;
  /** In words, for people. */
  summary: string;
  /** The camera's `recording.minDays`, and whether the projection falls below it. */
  minDays: number | null;
  short: boolean;
}

export interface StorageProjection {
  cameras: CameraStorage[];
  totalBytes: number;
  globalBudgetBytes: number | null;
  diskFreeBytes: number | null;
}

const gb = (bytes: number) => `${(bytes / GIGABYTE).toFixed(bytes < 10 * GIGABYTE ? 1 : 0)} GB`;
const days = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} days`;

/** The continuous bytes a camera wrote per day over the last week of its footage (or null). */
function rateOf(own: readonly Recording[], now: number): number | null {
  const recent = own.filter((r) => Date.parse(r.start) >= now - WINDOW_MS && r.durationMs !== null);
  if (recent.length === 0) return null;
  const covered = recent.reduce((ms, r) => ms + (r.durationMs ?? 0), 0);
  if (covered < MIN_MEASURED_MS) return null;
  const bytes = recent.reduce((sum, r) => sum + r.bytes, 0);
  // Bytes per day of recording: a camera recorded half the time still fills a day of its own.
  return (bytes / covered) * DAY;
}

export function projectStorage(
  recordings: readonly Recording[],
  config: Config,
  now: number,
  diskFreeBytes: number | null,
): StorageProjection {
  const continuous = (r: Recording) => r.kind !== "clip" && r.state === "done";
  const cameras = config.cameras.map((c) => c.id);
  const rates = new Map(
    cameras.map((id) => [
      id,
      rateOf(
        recordings.filter((r) => r.camera === id && continuous(r)),
        now,
      ),
    ]),
  );
  const totalRate = [...rates.values()].reduce<number>((sum, rate) => sum + (rate ?? 0), 0);
  const totalBytes = recordings.reduce((sum, r) => sum + r.bytes, 0);
  const globalBudget =
    config.recording.maxGigabytes === undefined ? null : config.recording.maxGigabytes * GIGABYTE;
  const allClipBytes = recordings.filter((r) => r.kind === "clip").reduce((sum, r) => sum + r.bytes, 0);
  const ageDays = config.recording.continuousRetentionDays;

  const out = cameras.map((camera): CameraStorage => {
    const own = recordings.filter((r) => r.camera === camera);
    const footage = own.filter(continuous);
    const continuousBytes = footage.reduce((sum, r) => sum + r.bytes, 0);
    const clipBytes = own.filter((r) => r.kind === "clip").reduce((sum, r) => sum + r.bytes, 0);
    const oldest = footage.reduce((min, r) => Math.min(min, Date.parse(r.start)), now);
    const cameraConfig = config.cameras.find((c) => c.id === camera)?.recording;
    const minDays = cameraConfig?.minDays ?? null;
    const rate = rates.get(camera) ?? null;
    const base = {
      camera,
      continuousBytes,
      clipBytes,
      bytesPerDay: rate,
      keptDays: (now - oldest) / DAY,
      minDays,
    };
    if (rate === null || rate <= 0)
      return {
        ...base,
        projectedDays: null,
        limit: null,
        summary: "measuring (less than 10 minutes of footage)",
        short: false,
      };
    const candidates: { limit: RetentionLimit; days: number; why: string }[] = [
      { limit: "age", days: ageDays, why: `continuous footage is kept ${days(ageDays)}` },
    ];
    if (cameraConfig?.maxGigabytes !== undefined) {
      // The camera's budget holds its clips too: what is left of it is the footage's.
      const room = Math.max(0, cameraConfig.maxGigabytes * GIGABYTE - clipBytes);
      candidates.push({
        limit: "camera-budget",
        days: room / rate,
        why: `its budget of ${gb(cameraConfig.maxGigabytes * GIGABYTE)}`,
      });
    }
    if (globalBudget !== null && totalRate > 0)
      candidates.push({
        limit: "global-budget",
        days: Math.max(0, globalBudget - allClipBytes) / totalRate,
        why: `the budget of ${gb(globalBudget)} for all cameras`,
      });
    if (diskFreeBytes !== null && totalRate > 0)
      candidates.push({
        limit: "disk",
        days:
          (diskFreeBytes + recordings.filter(continuous).reduce((sum, r) => sum + r.bytes, 0)) / totalRate,
        why: "the disk",
      });
    const decided = candidates.reduce((a, b) => (b.days < a.days ? b : a));
    const short = minDays !== null && decided.days < minDays;
    return {
      ...base,
      projectedDays: decided.days,
      limit: decided.limit,
      summary: `${days(decided.days)} (${decided.why}, at ${gb(rate)} a day)${short ? `: less than the ${days(minDays ?? 0)} asked for` : ""}`,
      short,
    };
  });
  return { cameras: out, totalBytes, globalBudgetBytes: globalBudget, diskFreeBytes };
}
