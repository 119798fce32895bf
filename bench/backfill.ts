/**
 * Backfill's own work, per byte of the camera's card footage: DHAV read (media/dhav.ts), re-muxed to fMP4
 * (media/dhav-fmp4.ts) and written to a file, as the backfill does once a card file has arrived. The footage
 * is the emulator's card recording (320x180 counter video, 25 fps, a keyframe a second), made once and
 * repeated to 10 minutes; compared in the same run with copying the same bytes to a file as they are (the
 * floor: backfill cannot be cheaper than writing its footage). In this process; 5 rounds, medians.
 *
 * What bounds a real backfill is the camera: its download goes through the camera's connection budget at
 * background priority, so live viewers and the API are served first (src/camera/session.ts); this says
 * how little of camgate's CPU the copying itself takes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { open, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SdCard } from "../src/emulator/sd-card.ts";
import { DhavReader } from "../src/media/dhav.ts";
import { DhavToFmp4 } from "../src/media/dhav-fmp4.ts";
import { type BenchResult, machine } from "./report.ts";

const MINUTES = 10;
const CHUNK = 64 * 1024;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** The card's first recording, repeated to MINUTES of footage (frame numbers and times as recorded). */
function footage(): { bytes: Buffer; seconds: number } {
  const card = new SdCard(Date.now());
  const recording = card.recordings[0];
  const one = recording ? card.file(recording.path) : undefined;
  if (!recording || !one) throw new Error("the emulator's card has no recording");
  const copies = Math.ceil((MINUTES * 60_000) / recording.durationMs);
  return {
    bytes: Buffer.concat(Array.from({ length: copies }, () => one)),
    seconds: (copies * recording.durationMs) / 1000,
  };
}

async function remuxToFile(bytes: Buffer, path: string): Promise<number> {
  const handle = await open(path, "w");
  const reader = new DhavReader();
  const remux = new DhavToFmp4();
  let written = 0;
  try {
    for (let at = 0; at < bytes.length; at += CHUNK)
      for (const record of reader.push(bytes.subarray(at, at + CHUNK)))
        for (const part of remux.push(record)) {
          await handle.write(part);
          written += part.length;
        }
  } finally {
    await handle.close();
  }
  return written;
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "camgate-bench-backfill-"));
  try {
    const { bytes, seconds } = footage();
    const remuxMbps: number[] = [];
    const copyMbps: number[] = [];
    let out = 0;
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      out = await remuxToFile(bytes, join(dir, `remux-${round}.mp4`));
      remuxMbps.push(bytes.length / 1e6 / ((performance.now() - started) / 1000));
      const copied = performance.now();
      await writeFile(join(dir, `copy-${round}.dav`), bytes);
      copyMbps.push(bytes.length / 1e6 / ((performance.now() - copied) / 1000));
    }
    const remux = median(remuxMbps);
    const copy = median(copyMbps);
    const realTime = remux / (bytes.length / 1e6 / seconds);
    return {
      name: "backfill",
      setup: `${MINUTES} min of the emulator's card footage (${(bytes.length / 1e6).toFixed(1)} MB of DHAV, 320x180, 25 fps), read in 64 KiB chunks, re-muxed to fMP4 and written; against writing the same bytes as they are. 5 rounds, medians. ${JSON.stringify(machine())}`,
      tables: [
        {
          title: "backfill",
          rows: [
            { measure: "DHAV in (MB)", value: (bytes.length / 1e6).toFixed(1) },
            { measure: "fMP4 out (MB)", value: (out / 1e6).toFixed(1) },
            { measure: "re-mux and write (MB/s)", value: remux.toFixed(0) },
            { measure: "write as is (MB/s)", value: copy.toFixed(0) },
            { measure: "re-mux speed (× real time)", value: realTime.toFixed(0) },
          ],
        },
      ],
      ratios: { "re-mux and write / write as is": remux / copy },
      targets: [
        {
          // A card download over the LAN is at most a few MB/s; the copying must never be what limits it.
          target: "re-mux faster than 20 MB/s (several cameras' card downloads at once)",
          met: remux > 20,
          value: `${remux.toFixed(0)} MB/s`,
        },
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
