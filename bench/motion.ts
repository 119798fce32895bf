/**
 * camgate's motion detection (issue 32): the CPU it costs per camera at 5 pictures a second, for 1 and for
 * 10 cameras, decoding each picture as camgate does (JPEG shrunk on load to 160 px, grey made from it, then
 * the detector) beside decoding the full picture first and shrinking it after (what shrink-on-load saves),
 * at the emulator's sub-stream size (640x480) and at 1280x720; then the scored scenes for longer than the
 * test runs them (`CAMGATE_BENCH_MOTION_SCALE`, default 3: 39 minutes of scene time), with camgate's own
 * episodes on the scenes that hold no motion.
 */
import { FrameRenderer } from "../src/emulator/frame-renderer.ts";
import type { SceneLayer } from "../src/emulator/scene-layers.ts";
import { decodeGrey, lumaOf } from "../src/events/software-motion.ts";
import { MotionDetector } from "../src/media/motion/motion-detector.ts";
import { loadSharp } from "../src/util/lazy-sharp.ts";
import { scenes, scoreAll } from "../test/helpers/motion-scenes.ts";
import type { BenchResult } from "./report.ts";

const FPS = 5;
const SECONDS = 10;
const OURS = "shrink on load (camgate)";
const FULL = "full picture, then shrink";

/** 50 pictures of a walker as the emulator's MJPEG stream sends them at this size. */
async function pictures(width: number, height: number): Promise<Buffer[]> {
  const renderer = new FrameRenderer(width, height);
  const walker: SceneLayer = { kind: "walker", periodMs: 10_000, walkMs: 10_000, y: 0.5, size: 0.3 };
  const frames: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    const scene = {
      cameraName: "BENCH",
      clockText: "2026-12-07 10:00:00",
      pan: 0,
      tilt: 0,
      zoom: 1,
      black: false,
      layers: [walker],
      sceneElapsedMs: i * 200,
    };
    frames.push((await renderer.render(scene, i * 200)).jpeg);
  }
  return frames;
}

/** Decodes the whole picture, then shrinks it: what camgate would pay without shrink-on-load. */
async function decodeFull(jpeg: Buffer, width: number) {
  const sharp = await loadSharp();
  const full = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const { data, info } = await sharp(full.data, {
    raw: { width: full.info.width, height: full.info.height, channels: full.info.channels },
  })
    .resize({ width })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { grey: lumaOf(data, info.channels), width: info.width, height: info.height };
}

type Decode = (jpeg: Buffer, width: number) => Promise<{ grey: Uint8Array; width: number; height: number }>;

interface Row {
  picture: string;
  decode: string;
  cameras: number;
  pictures: number;
  "late pictures": number;
  "ms CPU per picture": number;
  "% of a core per camera": number;
}

/** `cameras` cameras at 5 pictures a second each for SECONDS of wall time; CPU of the whole process. */
async function measure(
  frames: Buffer[],
  size: string,
  cameras: number,
  decode: Decode,
  label: string,
): Promise<Row> {
  const detectors: (MotionDetector | undefined)[] = new Array(cameras).fill(undefined);
  let analysed = 0;
  let late = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: cameras }, async (_, camera) => {
      for (let i = 0; i < SECONDS * FPS; i++) {
        const due = started + (i * 1000) / FPS + (camera * 1000) / FPS / cameras;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        else late++;
        const picture = await decode(frames[(i + camera) % frames.length] as Buffer, 160);
        detectors[camera] ??= new MotionDetector(picture.width, picture.height);
        detectors[camera]?.push(picture.grey);
        analysed++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wallSeconds = (performance.now() - started) / 1000;
  return {
    picture: size,
    decode: label,
    cameras,
    pictures: analysed,
    "late pictures": late,
    "ms CPU per picture": (cpuSeconds * 1000) / analysed,
    "% of a core per camera": (cpuSeconds / wallSeconds / cameras) * 100,
  };
}

export async function run(): Promise<BenchResult> {
  const rows: Row[] = [];
  for (const [width, height] of [
    [640, 480],
    [1280, 720],
  ] as const) {
    const frames = await pictures(width, height);
    // Warm-up: sharp loaded, libvips' caches and threads up.
    for (const frame of frames.slice(0, 10)) {
      await decodeGrey(frame, 160);
      await decodeFull(frame, 160);
    }
    for (const cameras of [1, 10]) {
      rows.push(await measure(frames, `${width}x${height}`, cameras, decodeGrey, OURS));
      rows.push(await measure(frames, `${width}x${height}`, cameras, decodeFull, FULL));
    }
  }
  const row = (size: string, label: string, cameras: number) =>
    rows.find((r) => r.picture === size && r.decode === label && r.cameras === cameras);
  const ratio = (size: string, cameras: number) =>
    (row(size, FULL, cameras)?.["ms CPU per picture"] ?? Number.NaN) /
    (row(size, OURS, cameras)?.["ms CPU per picture"] ?? Number.NaN);
  const perCamera10 = row("640x480", OURS, 10)?.["% of a core per camera"] ?? Number.NaN;
  const scale = Number(process.env.CAMGATE_BENCH_MOTION_SCALE ?? 3);
  const scores = await scoreAll(scenes(scale));
  const quiet = scores.filter((s) =>
    ["noise", "brightness step", "IR switch", "tree, masked"].includes(s.scene),
  );
  const quietMinutes = quiet.reduce((sum, s) => sum + s.minutes, 0);
  const quietEpisodes = quiet.reduce((sum, s) => sum + s.ownEpisodes, 0);
  return {
    name: "software motion detection",
    setup: `The emulator's MJPEG pictures of a walker (640x480 as its sub-stream sends them, and 1280x720; quality 70), ${FPS} pictures a second per camera for ${SECONDS} s of wall time, each decoded to 160 px of grey and judged by MotionDetector, cameras interleaved in this process; CPU from process.cpuUsage() (libvips' threads included). Then the scored scenes at ${scale}x the test's scene time (352x240 pictures).`,
    tables: [
      { title: "CPU per camera", rows: rows.map((r) => ({ ...r })) },
      {
        title: "scored scenes",
        rows: scores.map((s) => ({
          scene: s.scene,
          minutes: s.minutes,
          "camera motions": s.cameraMotions,
          confirmed: s.confirmed,
          rejected: s.rejected,
          "camgate's own episodes": s.ownEpisodes,
          "per hour": s.ownPerHour,
        })),
      },
    ],
    ratios: {
      "640x480, full-picture decode / shrink-on-load, 1 camera": ratio("640x480", 1),
      "640x480, full-picture decode / shrink-on-load, 10 cameras": ratio("640x480", 10),
      "1280x720, full-picture decode / shrink-on-load, 10 cameras": ratio("1280x720", 10),
    },
    targets: [
      {
        target: "10 cameras of 640x480 at 5 pictures a second cost under 5% of a core each",
        met: perCamera10 < 5,
        value: `${perCamera10.toFixed(2)}%`,
      },
      {
        target: "no episode of camgate's own on the scenes without motion (noise, light, masked tree)",
        met: quietEpisodes === 0,
        value: `${quietEpisodes} in ${quietMinutes} minutes of scene time`,
      },
    ],
  };
}
