/**
 * The emulator's frame generation cost: frames rendered and JPEG-encoded per second of process CPU time
 * (all threads, so libvips' worker threads count), at 640x480 and 1280x720, one stream rendering frames back
 * to back as fast as it can. "Cores at 25 fps" is what one such stream costs at the rate the benchmarks use.
 */
import { FrameRenderer } from "../src/emulator/frame-renderer.ts";
import type { BenchResult } from "./report.ts";

async function measure(width: number, height: number, frames: number) {
  const renderer = new FrameRenderer(width, height);
  const scene = {
    cameraName: "BENCH CAMERA",
    clockText: "2026-11-28 12:00:00",
    pan: 0,
    tilt: 0,
    zoom: 1,
    black: false,
  };
  for (let i = 0; i < 10; i++) await renderer.render({ ...scene, pan: i }); // warm-up
  const cpuStart = process.cpuUsage();
  const wallStart = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < frames; i++) {
    const frame = await renderer.render({ ...scene, pan: i % 360 });
    bytes += frame.jpeg.length;
  }
  const wallSeconds = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    resolution: `${width}x${height}`,
    frames,
    "fps (wall)": frames / wallSeconds,
    "fps per core (cpu)": frames / cpuSeconds,
    "cores at 25 fps": (25 * cpuSeconds) / frames,
    "avg frame KB": bytes / frames / 1024,
  };
}

export async function run(): Promise<BenchResult> {
  const small = await measure(640, 480, 300);
  const large = await measure(1280, 720, 150);
  return {
    name: "emulator frame generation",
    setup:
      "FrameRenderer (raw RGB overlay + one sharp JPEG encode, quality 70, COM segment) in this process, frames back to back after 10 warm-up frames; CPU time from process.cpuUsage().",
    tables: [{ title: "frame generation", rows: [small, large] }],
    ratios: {
      "1280x720 cost per frame / 640x480 cost per frame":
        small["fps per core (cpu)"] / large["fps per core (cpu)"],
    },
    targets: [
      {
        target: "640x480 at 25 fps costs well under half a core",
        met: small["cores at 25 fps"] < 0.5,
        value: `${small["cores at 25 fps"].toFixed(3)} cores`,
      },
    ],
  };
}
