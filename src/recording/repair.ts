/**
 * After a crash or a power cut: every recording the index still calls `recording` is made whole. Its
 * `.part` file is cut after its last complete fragment (so at most the fragment being written is lost),
 * given the duration of what it holds, and moved to its final name; the index row becomes `done` (or
 * `failed` when nothing usable is left). Runs once at start, before anything records.
 */
import { open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { withDuration } from "../media/fmp4.ts";
import { scanFragments } from "../media/fmp4-scan.ts";
import type { RecordingIndex } from "./recording-index.ts";

export async function repairRecordings(index: RecordingIndex, dir: string, logger: Logger): Promise<number> {
  let repaired = 0;
  for (const recording of await index.unfinished()) {
    const final = join(dir, recording.file);
    const part = `${final}.part`;
    try {
      const info = await stat(part).catch(() => undefined);
      if (!info) {
        // Finished on disk but not in the index (the crash came between the rename and the update).
        const done = await stat(final).catch(() => undefined);
        if (done) await index.done(recording.id, Date.now(), recording.durationMs ?? 0, done.size);
        else await index.failed(recording.id, Date.now(), "the file was lost in a crash");
        continue;
      }
      const handle = await open(part, "r+");
      try {
        const data = await handle.readFile();
        const scan = scanFragments(data);
        if (scan.fragments === 0 || scan.firstDecodeTime === undefined || scan.lastDecodeTime === undefined) {
          await handle.close();
          await rm(part, { force: true });
          await index.failed(recording.id, Date.now(), "cut short before its first picture");
          continue;
        }
        await handle.truncate(scan.completeBytes);
        const durationMs = ((scan.lastDecodeTime - scan.firstDecodeTime + scan.lastDuration) / 90_000) * 1000;
        const init = withDuration(data.subarray(0, scan.initBytes), durationMs);
        await handle.write(init, 0, init.length, 0);
        await handle.sync();
        await handle.close();
        await rename(part, final);
        await index.done(
          recording.id,
          Date.parse(recording.start) + durationMs,
          durationMs,
          scan.completeBytes,
        );
        repaired++;
        logger.info(
          { camera: recording.camera, recording: recording.id, lostBytes: data.length - scan.completeBytes },
          "recording cut short by a restart, repaired",
        );
      } finally {
        await handle.close().catch(() => undefined);
      }
    } catch (error) {
      await index
        .failed(recording.id, Date.now(), error instanceof Error ? error.message : String(error))
        .catch(() => undefined);
      logger.warn(
        { camera: recording.camera, recording: recording.id, err: String(error) },
        "could not repair a recording",
      );
    }
  }
  return repaired;
}
