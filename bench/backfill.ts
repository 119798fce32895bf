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
 *
 * Then end to end, in this process: an emulated camera recording 10 s files to its card, camgate recording
 * it continuously, stopped for 40 s and started again with a live viewer of the main stream (MSE over
 * WebSocket) connected; the viewer's pictures are timed for 4 s before the backfill starts and while it
 * fills the hole (the card's files made beforehand, so the emulator's encoder is not what is measured).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { open, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator } from "../src/emulator/index.ts";
import { SdCard } from "../src/emulator/sd-card.ts";
import { DhavReader } from "../src/media/dhav.ts";
import { DhavToFmp4 } from "../src/media/dhav-fmp4.ts";
import { CAMERA_PASSWORD, startTestGateway } from "../test/helpers/gateway.ts";
import { waitFor } from "../test/helpers/http.ts";
import { openLive } from "../test/helpers/live.ts";
import { type BenchResult, machine } from "./report.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ViewerWindow {
  fps: number;
  p99GapMs: number;
}

function windowOf(arrivals: number[], from: number, to: number): ViewerWindow {
  const inside = arrivals.filter((t) => t >= from && t < to);
  const gaps = inside.slice(1).map((t, i) => t - (inside[i] ?? t));
  const sorted = gaps.sort((a, b) => a - b);
  return {
    fps: inside.length / ((to - from) / 1000),
    p99GapMs: sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? 0,
  };
}

/** A hole of 40 s filled from the card while a live viewer watches: its pictures before and during. */
async function endToEnd(): Promise<{
  before: ViewerWindow;
  during: ViewerWindow;
  files: number;
  seconds: number;
}> {
  const storageDir = mkdtempSync(join(tmpdir(), "camgate-bench-backfill-e2e-"));
  const emulator = await startEmulator({
    profile: "amcrest-ipm-723w",
    password: CAMERA_PASSWORD,
    sdCardContinuousSeconds: 10,
  });
  const handle = emulator.cameras[0];
  if (!handle) throw new Error("no camera");
  const options = (backfill: boolean) => ({
    emulators: new Map([["yard", handle]]),
    storageDir,
    cameras: [
      {
        id: "yard",
        profile: "amcrest-ipm-723w" as const,
        config: { recording: { continuous: { segmentSeconds: 10 } } },
      },
    ],
    recording: {
      clips: { enabled: false },
      // The first look 5 s after the start: the viewer's "before" window is the seconds until then.
      backfill: { enabled: backfill, intervalSeconds: 8, settleSeconds: 2 },
    },
  });
  try {
    const first = await startTestGateway(options(false));
    await sleep(12_000);
    await first.close();
    await sleep(40_000);
    // The card's files of the outage, made now: the emulator's encoder is not what is measured.
    for (const recording of handle.camera.sdCard.recordings) handle.camera.sdCard.file(recording.path);
    const second = await startTestGateway(options(true));
    const arrivals: number[] = [];
    const viewer = await openLive(`${second.url}/api/v1/cameras/yard/live?stream=main`);
    viewer.socket.on("message", (_data, binary) => {
      if (binary) arrivals.push(performance.now());
    });
    try {
      await waitFor(() => (arrivals.length > 25 ? true : undefined), 20_000, "the viewer's pictures");
      const beforeFrom = performance.now();
      await waitFor(
        () => (second.camgate.recording.backfill.stats.files > 0 ? true : undefined),
        60_000,
        "the backfill",
      );
      const duringFrom = Math.max(beforeFrom + 1, performance.now() - 1000);
      const stats = second.camgate.recording.backfill.stats;
      let last = stats.files;
      // Until a look copies nothing more (the hole is filled).
      await waitFor(
        async () => {
          await sleep(2500);
          const done =
            stats.files === last && (await second.camgate.recording.backfill.holes("yard")).length === 0;
          last = stats.files;
          return done ? true : undefined;
        },
        120_000,
        "the hole filled",
      );
      const duringTo = performance.now();
      return {
        before: windowOf(arrivals, beforeFrom, duringFrom),
        during: windowOf(arrivals, duringFrom, duringTo),
        files: stats.files,
        seconds: (duringTo - duringFrom) / 1000,
      };
    } finally {
      viewer.close();
      await second.close();
    }
  } finally {
    await emulator.close();
    rmSync(storageDir, { recursive: true, force: true });
  }
}

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
    const live = await endToEnd();
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
        {
          title: "a live viewer while a 40 s hole is filled from the card",
          rows: [
            {
              window: "before the backfill",
              fps: live.before.fps.toFixed(1),
              "p99 gap (ms)": live.before.p99GapMs.toFixed(0),
            },
            {
              window: `during (${live.files} files, ${live.seconds.toFixed(1)} s)`,
              fps: live.during.fps.toFixed(1),
              "p99 gap (ms)": live.during.p99GapMs.toFixed(0),
            },
          ],
        },
      ],
      ratios: {
        "re-mux and write / write as is": remux / copy,
        "viewer fps during backfill / before": live.during.fps / live.before.fps,
      },
      targets: [
        {
          target: "the live viewer keeps its frame rate during the backfill (at least 95 % of before)",
          met: live.during.fps >= 0.95 * live.before.fps,
          value: `${live.during.fps.toFixed(1)} fps against ${live.before.fps.toFixed(1)}`,
        },
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
