/**
 * Backfill: the holes in a camera's continuous footage (camgate was stopped, the camera or the network was
 * down, the disk was full) are filled from the camera's SD card, once the camera is back. For each camera
 * recorded continuously, every `intervalSeconds`: the holes of the last `maxHours` (from its first footage
 * on, up to a minute ago), the card's files that overlap them (mediaFileFind, on the camera's clock), and for
 * each the file downloaded at background priority through the camera's connection budget (live viewers and
 * the API go first), its DHAV re-muxed to the same fMP4 files camgate records (no re-encoding), kept from the
 * keyframe at or before the hole to the hole's end, and indexed as `backfill`. Work is bounded per camera
 * and run (`maxFilesPerRun`, one download at a time); a restart resumes, since the holes are read again from
 * the index (a file half-written when camgate stopped is removed and copied again).
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { CameraEntry, CameraSet } from "../camera/registry.ts";
import { downloadSdFile, searchSdCard, wallClockMs, wallClockText } from "../camera/sd-card.ts";
import type { Config } from "../config/schema.ts";
import { DhavReader, type DhavRecord } from "../media/dhav.ts";
import { DhavToFmp4 } from "../media/dhav-fmp4.ts";
import { errorText } from "../util/error-text.ts";
import { ClipFile } from "./clip-file.ts";
import { gapsOf } from "./footage-gaps.ts";
import type { RecordingIndex } from "./recording-index.ts";

/** A hole shorter than this is a reconnect's blink, not worth a card search. */
const MIN_HOLE_MS = 5_000;
/** The most of a card file held before the hole's start (one GOP); a GOP larger than this is not copied. */
const MAX_HELD_BYTES = 64 * 1024 * 1024;
/** A hole the card had nothing for is asked about again after this long. */
const EMPTY_RETRY_MS = 30 * 60_000;

export interface BackfillOptions {
  config: Config;
  cameras: CameraSet;
  index: RecordingIndex;
  dir: string;
  logger: Logger;
  /** A new id for a recording (the recorders' own). */
  nextId: () => string;
  now?: () => number;
}

export interface BackfillStats {
  files: number;
  pictures: number;
  failures: number;
  /** What the last run of each camera did or why it stopped. */
  last: Map<string, string>;
}

interface Hole {
  from: number;
  to: number;
}

export class Backfill {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** Holes the card had nothing for, by camera and start, with when that was learnt. */
  private readonly empty = new Map<string, number>();
  readonly stats: BackfillStats = { files: 0, pictures: 0, failures: 0, last: new Map() };

  constructor(private readonly options: BackfillOptions) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private settings() {
    return this.options.config.recording.backfill;
  }

  /** Cameras recorded continuously, through Dahua's CGI (the card is read with it). */
  private eligible(): CameraEntry[] {
    return this.options.cameras
      .list()
      .filter(
        (entry) =>
          entry.protocol === "dahua" &&
          this.options.config.cameras.find((c) => c.id === entry.id)?.recording?.continuous !== undefined,
      );
  }

  async start(): Promise<void> {
    if (!this.settings().enabled) return;
    await this.removeLeftovers();
    this.schedule(Math.min(5_000, this.settings().intervalSeconds * 1000));
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        if (!this.abort.signal.aborted) this.schedule(this.settings().intervalSeconds * 1000);
      });
    }, ms);
    this.timer.unref();
  }

  /** One look at every eligible camera, one after the other (each bounded). */
  async runOnce(): Promise<void> {
    for (const entry of this.eligible()) {
      if (this.abort.signal.aborted) return;
      if (entry.session.getHealth().state !== "online") continue;
      try {
        await this.camera(entry);
      } catch (error) {
        this.stats.failures++;
        this.stats.last.set(entry.id, `failed: ${errorText(error)}`);
        this.options.logger.warn(
          { camera: entry.id, err: errorText(error) },
          "backfill from the SD card failed",
        );
      }
    }
  }

  /** The holes of a camera's continuous footage that are worth a look at its card. */
  async holes(camera: string): Promise<Hole[]> {
    const now = this.now();
    const settings = this.settings();
    const listed = (
      await this.options.index.list(camera, now - settings.maxHours * 3_600_000, now, 5000)
    ).filter((r) => (r.kind === "segment" || r.kind === "backfill") && r.state !== "failed");
    const first = listed[0];
    if (!first) return [];
    // Before camgate first recorded this camera there is no hole: it was not asked to.
    const from = Date.parse(first.start);
    return gapsOf(listed, from, now - settings.settleSeconds * 1000, now)
      .filter(([a, b]) => b - a >= MIN_HOLE_MS)
      .map(([a, b]) => ({ from: a, to: b }));
  }

  private async camera(entry: CameraEntry): Promise<void> {
    const holes = (await this.holes(entry.id)).filter((hole) => {
      const learnt = this.empty.get(`${entry.id}/${hole.from}`);
      return learnt === undefined || this.now() - learnt > EMPTY_RETRY_MS;
    });
    if (holes.length === 0) {
      this.stats.last.set(entry.id, "no hole");
      return;
    }
    const cameraNow = wallClockMs(await entry.api.time());
    if (cameraNow === undefined) throw new Error("the camera's clock is not a time camgate can read");
    // The camera's wall clock (its zone and drift) against camgate's, to the second.
    const offset = Math.round((cameraNow + 500 - this.now()) / 1000) * 1000;
    let copied = 0;
    for (const hole of holes) {
      const files = [];
      for await (const file of searchSdCard(
        entry.api,
        wallClockText(hole.from + offset),
        wallClockText(hole.to + offset),
      ))
        if (file.type === "dav" || file.path.endsWith(".dav")) files.push(file);
      if (files.length === 0) this.empty.set(`${entry.id}/${hole.from}`, this.now());
      for (const file of files) {
        if (copied >= this.settings().maxFilesPerRun || this.abort.signal.aborted) {
          this.stats.last.set(entry.id, `stopped after ${copied} files (the next look goes on)`);
          return;
        }
        const start = wallClockMs(file.startTime);
        if (start === undefined) continue;
        if (await this.copy(entry, file.path, start - offset, hole)) copied++;
      }
    }
    this.stats.last.set(entry.id, `${copied} files copied from the SD card`);
  }

  /**
   * Copies the part of one card file that falls in the hole: the pictures from the keyframe at or before the
   * hole's start to its end, written as they arrive (only the GOP that may hold the hole's start is held,
   * at most `MAX_HELD_BYTES`: a card file can be an hour long). True when footage was written.
   */
  private async copy(entry: CameraEntry, path: string, fileStart: number, hole: Hole): Promise<boolean> {
    const download = await downloadSdFile(entry.api, path, this.abort.signal);
    const reader = new DhavReader();
    const remux = new DhavToFmp4();
    let lastMs: number | undefined;
    let elapsed = 0;
    /** The GOP before the hole's start, kept in case the hole starts inside it. */
    let held: DhavRecord[] = [];
    let heldBytes = 0;
    let heldAt = 0;
    let output: { file: ClipFile; relative: string; started: number } | undefined;
    const write = async (record: DhavRecord, at: number) => {
      const parts = remux.push(record);
      if (!output) {
        const [init, ...rest] = parts;
        if (!init) return;
        const relative = join(
          entry.id,
          new Date(at).toISOString().slice(0, 10),
          `backfill-${new Date(at).toISOString().replace(/[:.]/g, "-")}.mp4`,
        );
        output = {
          file: await ClipFile.create(join(this.options.dir, relative), init),
          relative,
          started: at,
        };
        for (const part of rest) output.file.append(part);
        return;
      }
      for (const part of parts) output.file.append(part);
    };
    try {
      reading: for await (const chunk of download.body as AsyncIterable<Buffer>) {
        for (const record of reader.push(chunk)) {
          if (record.kind !== "video") continue;
          if (lastMs !== undefined) elapsed += (record.ms - lastMs + 65_536) % 65_536;
          lastMs = record.ms;
          const at = fileStart + elapsed;
          if (record.keyframe && at >= hole.to) break reading;
          if (at <= hole.from) {
            // Before the hole: only the latest GOP is held (a new keyframe replaces it).
            if (record.keyframe) {
              held = [];
              heldBytes = 0;
              heldAt = at;
            }
            if (record.keyframe || held.length > 0) {
              held.push(record);
              heldBytes += record.payload.length;
              if (heldBytes > MAX_HELD_BYTES) held = [];
            }
            continue;
          }
          if (!output && held.length > 0) {
            for (const earlier of held) await write(earlier, heldAt);
            held = [];
          }
          if (output || record.keyframe) await write(record, at);
        }
      }
    } finally {
      download.close();
    }
    if (!output) return false;
    const { file, relative, started } = output;
    const durationMs = remux.durationMs;
    const { bytes } = await file.finish(durationMs);
    const id = this.options.nextId();
    await this.options.index.begin({
      id,
      camera: entry.id,
      kind: "backfill",
      file: relative,
      startedAt: started,
    });
    await this.options.index.done(id, started + durationMs, durationMs, bytes);
    this.stats.files++;
    this.stats.pictures += remux.pictures;
    this.options.logger.info(
      {
        camera: entry.id,
        from: new Date(started).toISOString(),
        durationMs: Math.round(durationMs),
        card: path,
      },
      "backfilled from the SD card",
    );
    return true;
  }

  /** Half-written backfill files of a run that was stopped: copied again by the next look. */
  private async removeLeftovers(): Promise<void> {
    const walk = async (dir: string, depth: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory() && depth < 2) await walk(path, depth + 1);
        else if (entry.isFile() && entry.name.startsWith("backfill-") && entry.name.endsWith(".part"))
          await rm(path, { force: true });
      }
    };
    await walk(this.options.dir, 0);
  }

  async close(): Promise<void> {
    this.abort.abort(new Error("camgate is stopping"));
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
