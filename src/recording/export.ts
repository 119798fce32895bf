/**
 * An MP4 of any time range of a camera's footage, re-muxed from the stored fragments (no re-encoding): the
 * init of the first file (with the export's duration), then the fragments of each file that overlaps the
 * range, from the keyframe at or before its start to the first picture at or after its end. Each file's
 * fragments get decode times that carry on from the previous file's (a gap in the footage becomes a cut,
 * so players never wait on missing time) and a rising `mfhd` number.
 *
 * The plan is small (a few numbers per file), so any byte range of the export can be produced on demand:
 * a `<video>` element seeks in it with range requests, and nothing is staged on disk.
 */
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { sameInit, withDuration } from "../media/fmp4.ts";
import { readMoof, retimeMoof } from "../media/fmp4-scan.ts";
import type { Recording } from "./recording-index.ts";

const TICKS_PER_MS = 90;
/** What one read from a stored file takes in (most fragments are far smaller). */
const WINDOW_BYTES = 1024 * 1024;
/** A box header larger than this is not camgate's: the walk stops instead of allocating it. */
const MAX_FRAGMENT_BYTES = 64 * 1024 * 1024;

interface Run {
  path: string;
  /** Byte offsets of the run in its file: the first fragment's `moof`, and the end. */
  begin: number;
  end: number;
  /** Added to each fragment's decode time. */
  delta: number;
  /** Where the run starts in the export. */
  outStart: number;
}

export interface ExportPlan {
  /** The export's init segment (ftyp + moov with the duration). */
  init: Uint8Array;
  runs: Run[];
  size: number;
  /** Wall-clock capture time of the export's first picture, and how long it plays. */
  startedAt: number;
  durationMs: number;
  /** Recordings the export is made of. */
  recordings: string[];
  /** Why the export stops before `to`, when it does (new parameter sets, too many files). */
  cut: string | undefined;
}

/** A stored file read through a window, so walking many small fragments is a few large reads. */
class FileWindow {
  private start = 0;
  private data: Buffer = Buffer.alloc(0);

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** `length` bytes at `at` (fewer at the end of the file). The view stays valid: windows are not reused. */
  async bytes(at: number, length: number): Promise<Buffer> {
    if (at < this.start || at + length > this.start + this.data.length) {
      const want = Math.min(Math.max(length, WINDOW_BYTES), this.size - at);
      const data = Buffer.alloc(Math.max(0, want));
      const { bytesRead } = await this.handle.read(data, 0, data.length, at);
      this.start = at;
      this.data = data.subarray(0, bytesRead);
    }
    return this.data.subarray(at - this.start, at - this.start + length);
  }
}

interface FragmentAt {
  at: number;
  /** moof + mdat. */
  bytes: number;
  moofBytes: number;
  time: number;
  duration: number;
  keyframe: boolean;
}

/** The fragment at `at`, or undefined at the end of the file or at anything that is not a camgate fragment. */
async function fragmentAt(window: FileWindow, at: number): Promise<FragmentAt | undefined> {
  if (at + 8 > window.size) return undefined;
  const head = await window.bytes(at, 8);
  const moofBytes = head.readUInt32BE(0);
  if (head.toString("latin1", 4, 8) !== "moof" || moofBytes < 16 || moofBytes > 4096) return undefined;
  const both = await window.bytes(at, moofBytes + 8);
  if (both.length < moofBytes + 8 || both.toString("latin1", moofBytes + 4, moofBytes + 8) !== "mdat")
    return undefined;
  const mdatBytes = both.readUInt32BE(moofBytes);
  if (mdatBytes < 8 || mdatBytes > MAX_FRAGMENT_BYTES || at + moofBytes + mdatBytes > window.size)
    return undefined;
  const fields = readMoof(both.subarray(0, moofBytes));
  if (!fields) return undefined;
  return { at, bytes: moofBytes + mdatBytes, moofBytes, ...fields };
}

/** Bytes of ftyp + moov at the start of a file. */
async function initOf(window: FileWindow): Promise<Uint8Array | undefined> {
  let at = 0;
  for (let boxes = 0; boxes < 4 && at + 8 <= window.size; boxes++) {
    const head = await window.bytes(at, 8);
    const size = head.readUInt32BE(0);
    const type = head.toString("latin1", 4, 8);
    if (size < 8 || at + size > window.size) return undefined;
    if (type !== "ftyp" && type !== "moov") break;
    at += size;
  }
  return at > 0 ? Uint8Array.from(await window.bytes(0, at)) : undefined;
}

/**
 * Which stored recordings an export of [from, to) is made of: continuous segments (the one being written
 * too, up to its last whole fragment: recent footage plays at once), else finished event clips.
 */
export function exportSources(recordings: readonly Recording[]): Recording[] {
  const sorted = [...recordings].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const done = sorted.filter((r) => r.state === "done" && r.durationMs !== null);
  // Footage copied from the camera's SD card into a hole is continuous footage too.
  const segments = sorted.filter(
    (r) =>
      (r.kind === "segment" || r.kind === "backfill") &&
      (r.state === "recording" || (r.state === "done" && r.durationMs !== null)),
  );
  // Segments follow one another (their wall-clock edges may overlap by a few ms of capture jitter).
  if (segments.length > 0) return segments;
  // Clips can overlap one another: keep each one that starts after the previous one ended.
  const out: Recording[] = [];
  let lastEnd = Number.NEGATIVE_INFINITY;
  for (const clip of done.filter((r) => r.kind === "clip")) {
    const start = Date.parse(clip.start);
    if (start < lastEnd) continue;
    out.push(clip);
    lastEnd = start + (clip.durationMs ?? 0);
  }
  return out;
}

/**
 * A stored file for reading. A file being written is `<file>.part` until it is finished and renamed (same
 * bytes: finishing rewrites only the init's duration, in place), so either name may be the one on disk.
 */
async function openStored(
  path: string,
  growing: boolean,
): Promise<{ path: string; handle: FileHandle } | undefined> {
  const names = growing ? [`${path}.part`, path] : [path];
  for (const name of names) {
    const handle = await open(name, "r").catch(() => undefined);
    if (handle) return { path: name, handle };
  }
  return undefined;
}

/** The fragments of a file being written that are whole on disk: where they end, and the time they cover. */
async function writtenSoFar(
  window: FileWindow,
  initBytes: number,
): Promise<{ end: number; durationMs: number } | undefined> {
  let last: FragmentAt | undefined;
  for (
    let next = await fragmentAt(window, initBytes);
    next;
    next = await fragmentAt(window, next.at + next.bytes)
  )
    last = next;
  if (!last) return undefined;
  return { end: last.at + last.bytes, durationMs: (last.time + last.duration) / TICKS_PER_MS };
}

/** Plans the export of [from, to) from these recordings (see `exportSources`); undefined when none plays. */
export async function planExport(
  dir: string,
  recordings: readonly Recording[],
  from: number,
  to: number,
): Promise<ExportPlan | undefined> {
  let init: Uint8Array | undefined;
  const runs: Run[] = [];
  const used: string[] = [];
  let timeline = 0;
  let startedAt: number | undefined;
  let size = 0;
  let cut: string | undefined;
  for (const recording of recordings) {
    const start = Date.parse(recording.start);
    const growing = recording.state === "recording";
    if (start >= to || (!growing && start + (recording.durationMs ?? 0) <= from)) continue;
    const stored = await openStored(join(dir, recording.file), growing);
    if (!stored) continue; // deleted by retention since it was listed
    const { path, handle } = stored;
    try {
      const window = new FileWindow(handle, (await handle.stat()).size);
      const fileInit = await initOf(window);
      if (!fileInit) continue;
      let fileEnd = window.size;
      let durationMs = recording.durationMs ?? 0;
      if (growing) {
        const written = await writtenSoFar(window, fileInit.length);
        if (!written || start + written.durationMs <= from) continue;
        fileEnd = written.end;
        durationMs = written.durationMs;
      }
      // A finished file's init states its own duration: compare them without it.
      if (init && !sameInit(withDuration(init, 0), withDuration(fileInit, 0))) {
        cut = "the stream's parameters changed (a new resolution or codec): export the rest separately";
        break;
      }
      const wall = (time: number) => start + time / TICKS_PER_MS;
      let first = await fragmentAt(window, fileInit.length);
      // The keyframe at or before `from` (a file always starts with one).
      for (let next = first; next && wall(next.time) <= from; ) {
        if (next.keyframe) first = next;
        next = await fragmentAt(window, next.at + next.bytes);
      }
      if (!first) continue;
      let endAt = fileEnd;
      let endTime = Math.round(durationMs * TICKS_PER_MS);
      if (start + durationMs > to) {
        let last = first;
        for (let next: FragmentAt | undefined = first; next; ) {
          if (wall(next.time) >= to) break;
          last = next;
          next = await fragmentAt(window, next.at + next.bytes);
        }
        endAt = last.at + last.bytes;
        endTime = last.time + last.duration;
      }
      if (endAt <= first.at) continue;
      init ??= fileInit;
      startedAt ??= wall(first.time);
      runs.push({ path, begin: first.at, end: endAt, delta: timeline - first.time, outStart: 0 });
      used.push(recording.id);
      timeline += Math.max(0, endTime - first.time);
      size += endAt - first.at;
    } finally {
      await handle.close();
    }
  }
  if (!init || startedAt === undefined) return undefined;
  const durationMs = timeline / TICKS_PER_MS;
  const finalInit = withDuration(init, durationMs);
  let at = finalInit.length;
  for (const run of runs) {
    run.outStart = at;
    at += run.end - run.begin;
  }
  return {
    init: finalInit,
    runs,
    size: finalInit.length + size,
    startedAt,
    durationMs,
    recordings: used,
    cut,
  };
}

/**
 * Bytes [start, end] (inclusive) of the planned export. A run is entered at the fragment that holds
 * `start`, so a seek reads from there, not from the run's beginning.
 */
export async function* exportBytes(plan: ExportPlan, start: number, end: number): AsyncGenerator<Buffer> {
  if (start < plan.init.length)
    yield Buffer.from(plan.init.subarray(start, Math.min(end + 1, plan.init.length)));
  for (const run of plan.runs) {
    const runEnd = run.outStart + (run.end - run.begin);
    if (runEnd <= start || run.outStart > end) continue;
    // A file being written when the export was planned may have been finished (renamed) since.
    const stored = await openStored(run.path.replace(/\.part$/, ""), run.path.endsWith(".part"));
    if (!stored) throw new Error(`${run.path}: gone (retention removed it) since the export was planned`);
    const { handle } = stored;
    try {
      const window = new FileWindow(handle, run.end);
      let fragment = await fragmentAt(window, run.begin);
      // Skip whole fragments before the requested start.
      while (fragment && run.outStart + (fragment.at + fragment.bytes - run.begin) <= start)
        fragment = await fragmentAt(window, fragment.at + fragment.bytes);
      // Fragments are patched in place in the window they were read into (windows are never reused) and
      // handed on as one slice per window, not one per picture.
      let pending: Buffer | undefined;
      while (fragment && fragment.at < run.end) {
        const outAt = run.outStart + (fragment.at - run.begin);
        if (outAt > end) break;
        const bytes = await window.bytes(fragment.at, fragment.bytes);
        const time = fragment.time + run.delta;
        // The sequence number is the decode time in ms: rising across files without counting them.
        retimeMoof(bytes.subarray(0, fragment.moofBytes), time, Math.floor(time / TICKS_PER_MS) + 1);
        const piece = bytes.subarray(Math.max(0, start - outAt), Math.min(bytes.length, end + 1 - outAt));
        const joins =
          pending !== undefined &&
          pending.buffer === piece.buffer &&
          pending.byteOffset + pending.length === piece.byteOffset;
        if (pending && joins)
          pending = Buffer.from(pending.buffer, pending.byteOffset, pending.length + piece.length);
        else if (piece.length > 0) {
          if (pending) yield pending;
          pending = piece;
        }
        fragment = await fragmentAt(window, fragment.at + fragment.bytes);
      }
      if (pending) yield pending;
    } finally {
      await handle.close();
    }
  }
}
