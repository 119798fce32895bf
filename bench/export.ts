/**
 * Export of a time range: 30 one-minute continuous segments (25 fps, a keyframe a second, ~2 Mbit/s, one
 * fragment per picture, as camgate writes them) on disk, exported as one MP4 re-muxed from the stored
 * fragments, in this process. Compared in the same run with reading the same files' bytes as they are
 * (the floor: an export cannot be cheaper than reading its footage).
 *
 * Measured: the plan of a 30 min export (cut in the first and the last file), the throughput of the whole
 * export against the raw read, and the time to the first byte of a range in its middle (what a `<video>`
 * seek waits for). The page cache is warm for both (the files were just written), so the raw read is a
 * memory copy: the ratio says what the per-fragment work (walking, re-timing each moof) costs on top.
 */
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fragment, initSegment, VIDEO_TRACK_ID, withDuration } from "../src/media/fmp4.ts";
import { exportBytes, planExport } from "../src/recording/export.ts";
import type { Recording } from "../src/recording/recording-index.ts";
import { type BenchResult, machine } from "./report.ts";

const FILES = 30;
const SECONDS_PER_FILE = 60;
const FPS = 25;
const KEYFRAME_BYTES = 40_000;
const PICTURE_BYTES = 8_000;
const START = Date.UTC(2026, 11, 2, 8, 0, 0);

const SPS = Uint8Array.from([
  0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
]);
const PPS = Uint8Array.from([0x68, 0xce, 0x3c, 0x80]);

async function writeSegments(dir: string): Promise<Recording[]> {
  const init = initSegment(
    {
      codec: "h264",
      parameterSets: [SPS, PPS],
      parameters: { codec: "avc1.42c01e", width: 640, height: 360, profile: 66, level: 30 } as never,
    },
    undefined,
    { forFile: true },
  );
  const recordings: Recording[] = [];
  const pictures = SECONDS_PER_FILE * FPS;
  const key = new Uint8Array(KEYFRAME_BYTES).fill(0x65);
  const other = new Uint8Array(PICTURE_BYTES).fill(0x41);
  for (let f = 0; f < FILES; f++) {
    const name = `segment-${f}.mp4`;
    const handle = await open(join(dir, name), "w");
    const parts: Uint8Array[] = [withDuration(init, SECONDS_PER_FILE * 1000)];
    for (let i = 0; i < pictures; i++) {
      const keyframe = i % FPS === 0;
      parts.push(
        fragment(
          {
            trackId: VIDEO_TRACK_ID,
            decodeTime: i * 3600,
            duration: 3600,
            keyframe,
            data: [keyframe ? key : other],
            lengthPrefixed: true,
          },
          i + 1,
        ),
      );
    }
    const bytes = Buffer.concat(parts);
    await handle.write(bytes);
    await handle.close();
    const start = START + f * SECONDS_PER_FILE * 1000;
    recordings.push({
      id: `s${f}`,
      camera: "bench",
      kind: "segment",
      incident: null,
      file: name,
      start: new Date(start).toISOString(),
      end: new Date(start + SECONDS_PER_FILE * 1000).toISOString(),
      durationMs: SECONDS_PER_FILE * 1000,
      bytes: bytes.length,
      state: "done",
      error: null,
    });
  }
  return recordings;
}

async function drain(source: AsyncIterable<Buffer>): Promise<{ bytes: number; firstByteMs: number }> {
  const started = performance.now();
  let firstByteMs = -1;
  let bytes = 0;
  for await (const chunk of source) {
    if (firstByteMs < 0) firstByteMs = performance.now() - started;
    bytes += chunk.length;
  }
  return { bytes, firstByteMs };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "camgate-bench-export-"));
  try {
    const recordings = await writeSegments(dir);
    const footageBytes = recordings.reduce((sum, r) => sum + r.bytes, 0);
    // From 30.5 s into the first file to 30.5 s into the last: both ends cut inside a file.
    const from = START + 30_500;
    const to = START + (FILES - 1) * SECONDS_PER_FILE * 1000 + 30_500;
    const planMs: number[] = [];
    const exportMbps: number[] = [];
    const rawMbps: number[] = [];
    const seekMs: number[] = [];
    let size = 0;
    let durationMs = 0;
    for (let round = 0; round < 5; round++) {
      const planned = performance.now();
      const plan = await planExport(dir, recordings, from, to);
      planMs.push(performance.now() - planned);
      if (!plan) throw new Error("nothing to export");
      size = plan.size;
      durationMs = plan.durationMs;
      const exported = performance.now();
      const whole = await drain(exportBytes(plan, 0, plan.size - 1));
      exportMbps.push(whole.bytes / 1e6 / ((performance.now() - exported) / 1000));
      const raw = performance.now();
      let rawBytes = 0;
      for (const recording of recordings) {
        rawBytes += (await drain(createReadStream(join(dir, recording.file), { highWaterMark: 1024 * 1024 })))
          .bytes;
      }
      rawMbps.push(rawBytes / 1e6 / ((performance.now() - raw) / 1000));
      const middle = Math.floor(plan.size / 2);
      seekMs.push((await drain(exportBytes(plan, middle, middle + 1024 * 1024 - 1))).firstByteMs);
    }
    const exportRate = median(exportMbps);
    const rawRate = median(rawMbps);
    const realTime = exportRate / (footageBytes / 1e6 / ((FILES * SECONDS_PER_FILE * 1000) / 1000));
    return {
      name: "export",
      setup: `${FILES} segments of ${SECONDS_PER_FILE} s (${FPS} fps, ${(footageBytes / 1e6).toFixed(0)} MB), exported from 30.5 s into the first to 30.5 s into the last, in-process, 5 rounds (medians); raw read of the same files as the floor. ${JSON.stringify(machine())}`,
      tables: [
        {
          title: "export",
          rows: [
            { measure: "export size (MB)", value: (size / 1e6).toFixed(1) },
            { measure: "export duration (min)", value: (durationMs / 60_000).toFixed(2) },
            { measure: "plan (ms)", value: median(planMs).toFixed(1) },
            { measure: "export throughput (MB/s)", value: exportRate.toFixed(0) },
            { measure: "raw read throughput (MB/s)", value: rawRate.toFixed(0) },
            { measure: "seek: first byte of a middle range (ms)", value: median(seekMs).toFixed(2) },
            { measure: "export speed (× real time)", value: realTime.toFixed(0) },
          ],
        },
      ],
      ratios: { "export throughput / raw read throughput": exportRate / rawRate },
      targets: [
        {
          target: "plan of a 30 min export under 200 ms",
          met: median(planMs) < 200,
          value: `${median(planMs).toFixed(1)} ms`,
        },
        {
          target: "a seek's first byte under 50 ms",
          met: median(seekMs) < 50,
          value: `${median(seekMs).toFixed(2)} ms`,
        },
        {
          // What leaves the machine is the limit: the export must not be slower than a gigabit link.
          target: "export faster than a 1 Gbit/s link carries it (125 MB/s)",
          met: exportRate > 125,
          value: `${exportRate.toFixed(0)} MB/s`,
        },
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
