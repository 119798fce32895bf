/**
 * The emulated camera's SD card: a few short recordings (DHAV, as the firmware writes them) placed before
 * the camera's clock at power-on, found through mediaFileFind.cgi and downloaded with RPC_Loadfile.
 *
 * Paths follow the firmware's layout `/mnt/sd/<date>/001/dav/<hour>/<start>-<end>[R|M][0@0][0].dav`
 * (python-amcrest test_media; `[R]` regular, `[M]` motion). Each picture carries the counter strip with its
 * capture time, so a decoder's pixels say which moment a download shows. The bytes are made on first use.
 */
import { CounterEncoder } from "./counter-encoder.ts";
import { dhavRecord } from "./dhav.ts";
import { wallClock } from "./event-hub.ts";

export interface SdRecording {
  channel: number;
  /** Camera wall-clock times (`2026-12-02 07:05:00`). */
  startTime: string;
  endTime: string;
  path: string;
  flags: ("Timing" | "Event")[];
  events: string[];
  /** The recording's first picture, camera clock (ms). */
  startedAt: number;
  durationMs: number;
}

const VIDEO = { width: 320, height: 180, fps: 25 };
/** Where each recording starts before power-on (s), how long it is, and why it was recorded. */
const LAYOUT: { before: number; seconds: number; motion: boolean }[] = [
  { before: 3600, seconds: 3, motion: false },
  { before: 1800, seconds: 2, motion: true },
  { before: 600, seconds: 3, motion: true },
];

/** Open mediaFileFind objects at once; one more is refused, as a device with a small table would. */
const MAX_FINDERS = 8;
/** Items one findNextFile answers at most, whatever `count` asks. */
const MAX_PAGE = 100;

function pathOf(start: Date, end: Date, motion: boolean): string {
  const [day = "", startClock = ""] = wallClock(start).split(" ");
  const endClock = wallClock(end).split(" ")[1] ?? "";
  const dots = (clock: string) => clock.replace(/:/g, ".");
  return `/mnt/sd/${day}/001/dav/${startClock.slice(0, 2)}/${dots(startClock)}-${dots(endClock)}[${motion ? "M" : "R"}][0@0][0].dav`;
}

interface Finder {
  matches: SdRecording[] | undefined;
  cursor: number;
}

/** The card's condition, as `storageDevice.cgi?action=getDeviceAllInfo` reports it (a fault for tests). */
export interface SdCardCondition {
  present: boolean;
  failing: boolean;
  totalBytes: number;
  usedBytes: number;
}

export class SdCard {
  private readonly older: SdRecording[];
  /** A 32 GB card, a third used. */
  condition: SdCardCondition = {
    present: true,
    failing: false,
    totalBytes: 31_254_904_832,
    usedBytes: 10_418_301_610,
  };
  private readonly files = new Map<string, Buffer>();
  private readonly finders = new Map<number, Finder>();
  private nextFinder = 1;

  private readonly poweredOn: number;

  constructor(
    cameraNow: number,
    private readonly continuous: { now: () => number; continuousSeconds?: number } = { now: () => cameraNow },
  ) {
    const poweredOn = Math.floor(cameraNow / 1000) * 1000;
    this.poweredOn = poweredOn;
    this.older = LAYOUT.map(({ before, seconds, motion }) => {
      const start = new Date(poweredOn - before * 1000);
      const end = new Date(start.getTime() + seconds * 1000);
      return {
        channel: 0,
        startTime: wallClock(start),
        endTime: wallClock(end),
        path: pathOf(start, end, motion),
        flags: motion ? ["Event"] : ["Timing"],
        events: motion ? ["VideoMotion"] : [],
        startedAt: start.getTime(),
        durationMs: seconds * 1000,
      };
    });
  }

  /**
   * What the card holds now: its older recordings, and with continuous recording one file per
   * `continuousSeconds` from power-on, each listed once it is closed (the one being written is not).
   */
  get recordings(): SdRecording[] {
    const seconds = this.continuous.continuousSeconds;
    if (!seconds) return this.older;
    const files: SdRecording[] = [];
    const closedBefore = this.continuous.now();
    for (let start = this.poweredOn; start + seconds * 1000 <= closedBefore; start += seconds * 1000) {
      const from = new Date(start);
      const to = new Date(start + seconds * 1000);
      files.push({
        channel: 0,
        startTime: wallClock(from),
        endTime: wallClock(to),
        path: pathOf(from, to, false),
        flags: ["Timing"],
        events: [],
        startedAt: start,
        durationMs: seconds * 1000,
      });
    }
    return [...this.older, ...files];
  }

  /** The bytes of a file on the card, or undefined for a path that is not one. */
  file(path: string): Buffer | undefined {
    const recording = this.recordings.find((r) => r.path === path);
    if (!recording) return undefined;
    let bytes = this.files.get(path);
    if (!bytes) {
      bytes = record(recording);
      this.files.set(path, bytes);
    }
    return bytes;
  }

  get openFinders(): number {
    return this.finders.size;
  }

  create(): number | undefined {
    if (this.finders.size >= MAX_FINDERS) return undefined;
    const id = this.nextFinder++;
    this.finders.set(id, { matches: undefined, cursor: 0 });
    return id;
  }

  /** Starts a search of recordings overlapping [start, end] (camera wall clock); false for an unknown object. */
  find(id: number, start: string, end: string, types: string[]): boolean {
    const finder = this.finders.get(id);
    if (!finder) return false;
    finder.matches = this.recordings.filter(
      (r) => r.startTime <= end && r.endTime >= start && (types.length === 0 || types.includes("dav")),
    );
    finder.cursor = 0;
    return true;
  }

  /** The next page, or undefined for an unknown object or one without a search. */
  next(id: number, count: number): SdRecording[] | undefined {
    const finder = this.finders.get(id);
    if (!finder?.matches) return undefined;
    const page = finder.matches.slice(finder.cursor, finder.cursor + Math.max(0, Math.min(count, MAX_PAGE)));
    finder.cursor += page.length;
    return page;
  }

  close(id: number): boolean {
    const finder = this.finders.get(id);
    if (!finder) return false;
    finder.matches = undefined;
    return true;
  }

  destroy(id: number): boolean {
    return this.finders.delete(id);
  }
}

function record(recording: SdRecording): Buffer {
  const encoder = new CounterEncoder({ ...VIDEO, gop: VIDEO.fps });
  const pictures = Math.round((recording.durationMs / 1000) * VIDEO.fps);
  const records: Buffer[] = [];
  for (let i = 0; i < pictures; i++) {
    const at = recording.startedAt + (i * 1000) / VIDEO.fps;
    const { nalus, keyframe } = encoder.encode(i, at);
    // The access unit delimiter is a stream device; recorded pictures start at the parameter sets.
    const kept = nalus.filter((nal) => ((nal[0] ?? 0) & 0x1f) !== 9);
    records.push(dhavRecord({ nalus: kept, keyframe, at: new Date(at) }, i + 1, VIDEO));
  }
  return Buffer.concat(records);
}
