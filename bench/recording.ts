/**
 * Recording: N emulated cameras (H.264 main stream padded to 2 Mbit/s) recorded continuously plus event
 * clips, with live RTSP viewers on top, against the same gateway relaying the same streams without
 * recording; and ffmpeg `-c copy` recording one camera's RTSP stream to MP4 as the reference point. The
 * emulators, the gateway, ffmpeg and this load generator are separate processes on this 2-core machine.
 *
 * Measured: gateway CPU and RSS with and without recording (the difference, per recorded camera, is what
 * recording costs), bytes written to disk per byte received from the cameras, and the time from an event's
 * end to its clip being announced (ClipReady), minus the post-roll.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import type { BenchResult } from "./report.ts";
import {
  type Child,
  cpuSeconds,
  percentile,
  rssMb,
  rtspPortOf,
  rtspPortsOf,
  sleep,
  startEmulatorProcess,
  startGatewayProcess,
} from "./support/processes.ts";
import { RtspViewer } from "./support/rtsp-viewer.ts";

const PASSWORD = "bench-camera";
const CAMERAS = 16;
const VIEWERS = 50;
const BITRATE = 2_000_000;
const MEASURE_MS = 10_000;
const POST_ROLL_S = 1;

/** Bytes of the files under `dir` whose name passes `which` (continuous segments, or clips). */
function bytesUnder(dir: string, which: (name: string) => boolean): number {
  let total = 0;
  try {
    for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
      const info = statSync(join(dir, name));
      if (info.isFile() && which(name)) total += info.size;
    }
  } catch {
    return 0;
  }
  return total;
}

interface Phase {
  cpu: number;
  rss: number;
  /** Continuous segments written. */
  written: number;
  /** Event clips written (their footage is in the segments too). */
  clips: number;
  received: number;
}

const isSegment = (name: string) => /segment-[^/]*\.mp4(\.part)?$/.test(name);
const isClip = (name: string) => !isSegment(name) && /\.mp4(\.part)?$/.test(name);

/** Video bytes the gateway has received from the cameras' main streams so far (from /metrics). */
async function unitsBytes(url: string): Promise<number> {
  const text = await (await request(`${url}/metrics`)).body.text();
  let total = 0;
  for (const match of text.matchAll(
    /^camgate_stream_received_bytes_total\{[^}]*stream="main"[^}]*\} (\d+)/gm,
  ))
    total += Number(match[1]);
  return total;
}

async function runGateway(
  dir: string,
  urls: string[],
  rtspPorts: number[],
  recording: boolean,
): Promise<{ child: Child; url: string; recordings: string }> {
  const configFile = join(dir, `camgate-${recording ? "rec" : "plain"}.yaml`);
  const storage = join(dir, recording ? "rec" : "plain");
  writeFileSync(
    configFile,
    [
      'server: { listen: "127.0.0.1:0", rtsp: { listen: "127.0.0.1:0" } }',
      `storage: { dir: ${storage} }`,
      "log: { level: warn }",
      "events: { heartbeatSeconds: 5, snapshotCodes: [] }",
      "backup: { enabled: false }",
      "logSync: { enabled: false }",
      `recording: { clips: { enabled: ${recording}, preRollSeconds: 2, postRollSeconds: ${POST_ROLL_S} } }`,
      "cameras:",
      ...urls.map(
        (url, i) =>
          `  - { id: cam${i}, url: "${url}", username: admin, password: ${PASSWORD}, rtsp: { port: ${rtspPorts[i]} }, preload: true${recording ? ", recording: { continuous: { segmentSeconds: 60 } }" : ""} }`,
      ),
      "",
    ].join("\n"),
  );
  const { child, url } = await startGatewayProcess(configFile);
  return { child, url, recordings: join(storage, "recordings") };
}

async function measurePhase(pid: number, url: string, recordings: string): Promise<Phase> {
  const writtenBefore = bytesUnder(recordings, isSegment);
  const clipsBefore = bytesUnder(recordings, isClip);
  const receivedBefore = await unitsBytes(url);
  const cpuBefore = cpuSeconds(pid);
  await sleep(MEASURE_MS);
  const cpu = (cpuSeconds(pid) - cpuBefore) / (MEASURE_MS / 1000);
  const written = bytesUnder(recordings, isSegment) - writtenBefore;
  const clips = bytesUnder(recordings, isClip) - clipsBefore;
  const received = (await unitsBytes(url)) - receivedBefore;
  return { cpu, rss: rssMb(pid), written, clips, received };
}

/**
 * Time from each motion's stop to its clip's ClipReady, from the stored events (the emulators run a motion
 * cycle on every camera), minus the post-roll: what an owner waits beyond the post-roll.
 */
async function clipReadiness(url: string): Promise<number[]> {
  const waits: number[] = [];
  for (let i = 0; i < CAMERAS; i++) {
    const get = async (code: string) =>
      (
        (await (await request(`${url}/api/v1/events?camera=cam${i}&code=${code}&limit=200`)).body.json()) as {
          events: {
            receivedAt: string;
            action: string;
            incident: string | null;
            data: { incident?: string };
          }[];
        }
      ).events;
    const stops = (await get("VideoMotion")).filter((e) => e.action === "stop");
    for (const ready of await get("ClipReady")) {
      const stop = stops.find((e) => e.incident === ready.data.incident);
      if (stop) waits.push(Date.parse(ready.receivedAt) - Date.parse(stop.receivedAt) - POST_ROLL_S * 1000);
    }
  }
  return waits.sort((a, b) => a - b);
}

async function ffmpegReference(rtspUrl: string, dir: string): Promise<{ cpu: number; bytes: number }> {
  const out = join(dir, "ffmpeg.mp4");
  const child = spawn(
    "ffmpeg",
    [
      "-v",
      "error",
      "-rtsp_transport",
      "tcp",
      "-i",
      rtspUrl,
      // Video only: camgate records the video track, and MP4 cannot hold the camera's G.711 anyway.
      "-an",
      "-c",
      "copy",
      "-y",
      "-f",
      "mp4",
      "-movflags",
      "frag_keyframe",
      out,
    ],
    { stdio: "ignore" },
  );
  await sleep(3000);
  const pid = child.pid ?? 0;
  const before = cpuSeconds(pid);
  const bytesBefore = statSync(out, { throwIfNoEntry: false })?.size ?? 0;
  await sleep(MEASURE_MS);
  const cpu = (cpuSeconds(pid) - before) / (MEASURE_MS / 1000);
  const bytes = (statSync(out, { throwIfNoEntry: false })?.size ?? 0) - bytesBefore;
  child.kill("SIGINT");
  await new Promise((resolve) => child.once("exit", resolve));
  return { cpu, bytes };
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "camgate-bench-rec-"));
  const children: Child[] = [];
  try {
    const emulator = await startEmulatorProcess("amcrest-ip2m-841b", PASSWORD, CAMERAS, [
      "--main-bitrate",
      String(BITRATE),
      "--rtsp-sessions",
      "6",
      // A motion every 6 s on every camera (3 s long): clips all along the measurement.
      "--motion-every",
      "6",
    ]);
    children.push(emulator.child);
    const ports = rtspPortsOf(emulator.child.lines);
    if (ports.length !== CAMERAS)
      throw new Error(
        `expected ${CAMERAS} RTSP ports, got ${ports.length} (${rtspPortOf(emulator.child.lines)})`,
      );

    const phases: Record<string, Phase & { viewers: number }> = {};
    let readiness: number[] = [];
    let rtspBase = "";
    for (const recording of [false, true]) {
      const gateway = await runGateway(dir, emulator.urls, ports, recording);
      children.push(gateway.child);
      const streams = (await (await request(`${gateway.url}/api/v1/cameras/cam0/streams`)).body.json()) as {
        streams: { name: string; rtspUrl: string | null }[];
      };
      rtspBase = streams.streams.find((s) => s.name === "main")?.rtspUrl ?? "";
      const viewers = Array.from(
        { length: VIEWERS },
        (_, i) => new RtspViewer(rtspBase.replace("/cam0", `/cam${i % CAMERAS}`)),
      );
      await Promise.all(viewers.map((v) => v.start()));
      await sleep(4000);
      const pid = gateway.child.process.pid ?? 0;
      phases[recording ? "recording" : "relay only"] = {
        ...(await measurePhase(pid, gateway.url, gateway.recordings)),
        viewers: viewers.filter((v) => v.bytes > 0).length,
      };
      if (recording) readiness = await clipReadiness(gateway.url);
      for (const v of viewers) v.stop();
      await gateway.child.stop();
    }
    // The reference records the camera itself, as Frigate's ffmpeg does.
    const reference = await ffmpegReference(
      `rtsp://admin:${PASSWORD}@127.0.0.1:${ports[0]}/cam/realmonitor?channel=1&subtype=0`,
      dir,
    );
    const plain = phases["relay only"] as Phase & { viewers: number };
    const rec = phases.recording as Phase & { viewers: number };
    const perCamera = (rec.cpu - plain.cpu) / CAMERAS;
    const writtenPerReceived = rec.written / rec.received;
    return {
      name: "recording",
      setup: `${CAMERAS} emulated cameras (H.264 main padded to ${BITRATE / 1e6} Mbit/s, each preloaded), ${VIEWERS} RTSP viewers, ${MEASURE_MS / 1000} s measured per phase; gateway with continuous recording of every camera (60 s segments) and clips on, against the same without recording; ffmpeg -c copy of one stream as the reference`,
      tables: [
        {
          title: "gateway",
          rows: Object.entries(phases).map(([setup, p]) => ({
            setup,
            "viewers served": p.viewers,
            "CPU (cores)": p.cpu,
            "RSS MB": p.rss,
            "MB/s received": p.received / 1e6 / (MEASURE_MS / 1000),
            "MB/s written (continuous)": p.written / 1e6 / (MEASURE_MS / 1000),
            "MB/s written (clips)": p.clips / 1e6 / (MEASURE_MS / 1000),
          })),
        },
        {
          title: "reference",
          rows: [
            {
              setup: "ffmpeg -c copy, 1 camera",
              "CPU (cores)": reference.cpu,
              "MB/s written": reference.bytes / 1e6 / (MEASURE_MS / 1000),
            },
            {
              setup: "camgate, per recorded camera",
              "CPU (cores)": perCamera,
              "MB/s written": rec.written / CAMERAS / 1e6 / (MEASURE_MS / 1000),
            },
          ],
        },
      ],
      ratios: {
        "recording CPU per camera / ffmpeg -c copy CPU": perCamera / reference.cpu,
        "bytes written / bytes received": writtenPerReceived,
      },
      targets: [
        {
          target: "under 1% of a core per recorded camera",
          met: perCamera < 0.01,
          value: `${(perCamera * 100).toFixed(2)}%`,
        },
        {
          target: "bytes written per byte received <= 1.05",
          met: writtenPerReceived <= 1.05,
          value: writtenPerReceived.toFixed(3),
        },
        {
          target: "clip announced under 1 s after the post-roll",
          met: readiness.length > 0 && percentile(readiness, 95) < 1000,
          value:
            readiness.length === 0
              ? "not measured"
              : `p50 ${Math.round(percentile(readiness, 50))} ms, p95 ${Math.round(percentile(readiness, 95))} ms over ${readiness.length} clips`,
        },
      ],
    };
  } finally {
    for (const child of children.reverse()) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
