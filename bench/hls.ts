/**
 * HLS: 1, 10 and 50 Low-Latency HLS players, each doing what an LL-HLS player does (a blocking playlist
 * reload for the next part, then that part), against the same number of MSE viewers in the same run: the
 * gateway's CPU, and how long after its capture each picture reaches the player (the emulator's SEI stamp
 * in every picture; an LL-HLS part is sent once whole, so a picture waits up to a part, 0.5 s). Emulator main
 * stream padded to 2 Mbit/s, 640x360 H.264, 25 fps, 1 s GOP; the gateway (built, as users run it), the
 * emulator and this load generator are separate processes on this 2-core machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import type { BenchResult } from "./report.ts";
import {
  type Child,
  cpuSeconds,
  percentile,
  rssMb,
  rtspPortOf,
  sleep,
  startBuiltGatewayProcess,
  startEmulatorProcess,
  startTsx,
} from "./support/processes.ts";

const PASSWORD = "bench-camera";
const RECORD_MS = 8000;
const COUNTS = [1, 10, 50];

interface PlayerStats {
  parts: number;
  bytes: number;
  requests: number;
  /** ms from a picture's capture to its arrival at the player. */
  delays: number[];
}

const agent = new Agent({ connections: 256, pipelining: 0 });

async function text(url: string): Promise<string> {
  const answer = await request(url, { dispatcher: agent });
  const body = await answer.body.text();
  if (answer.statusCode !== 200) throw new Error(`${url}: ${answer.statusCode} ${body.slice(0, 200)}`);
  return body;
}

/** One LL-HLS player from the multivariant playlist at `index` until `until` (ms since epoch). */
async function player(index: string, until: number, stats: PlayerStats, recordFrom: number): Promise<void> {
  const master = await text(index);
  const media = new URL(master.trim().split("\n").at(-1) as string, index).href;
  const first = await text(media);
  const parts = [...first.matchAll(/URI="part-(\d+)\.(\d+)\.m4s"/g)];
  const last = parts.at(-1);
  let msn = last ? Number(last[1]) : 0;
  let part = last ? Number(last[2]) + 1 : 0;
  while (Date.now() < until) {
    const playlist = await text(`${media}?_HLS_msn=${msn}&_HLS_part=${part}`);
    stats.requests++;
    if (playlist.includes(`URI="part-${msn}.${part}.m4s"`)) {
      const answer = await request(new URL(`part-${msn}.${part}.m4s`, media), { dispatcher: agent });
      const bytes = Buffer.from(await answer.body.arrayBuffer());
      const arrived = Date.now();
      stats.requests++;
      if (arrived >= recordFrom) {
        stats.parts++;
        stats.bytes += bytes.length;
        for (const match of bytes.toString("latin1").matchAll(/camgate seq=\d+ t=(\d+)/g))
          stats.delays.push(arrived - Number(match[1]));
      }
      part++;
    } else if (playlist.includes(`seg-${msn}.m4s`)) {
      msn++;
      part = 0;
    }
  }
}

async function hlsRow(index: string, pid: number, viewers: number): Promise<Record<string, string | number>> {
  const stats = Array.from(
    { length: viewers },
    (): PlayerStats => ({ parts: 0, bytes: 0, requests: 0, delays: [] }),
  );
  const warmup = 2000;
  const start = Date.now();
  const until = start + warmup + RECORD_MS;
  const players = stats.map((s) => player(index, until, s, start + warmup));
  await sleep(warmup);
  const cpu0 = cpuSeconds(pid);
  await Promise.all(players);
  const cores = (cpuSeconds(pid) - cpu0) / (RECORD_MS / 1000);
  const delays = stats.flatMap((s) => s.delays).sort((a, b) => a - b);
  const seconds = RECORD_MS / 1000;
  return {
    protocol: "LL-HLS",
    viewers,
    "gateway cores": cores,
    "picture delay p50 ms": percentile(delays, 50),
    "picture delay p99 ms": percentile(delays, 99),
    "parts/s per viewer": stats.reduce((sum, s) => sum + s.parts, 0) / viewers / seconds,
    "requests/s": stats.reduce((sum, s) => sum + s.requests, 0) / seconds,
    "Mbit/s per viewer": (stats.reduce((sum, s) => sum + s.bytes, 0) * 8) / viewers / seconds / 1e6,
    "gateway RSS MB": rssMb(pid),
  };
}

async function mseRow(url: string, pid: number, viewers: number): Promise<Record<string, string | number>> {
  const crowd = await startTsx("bench/support/live-viewers.ts", ["mse", url, String(viewers)], /^ready \d+/);
  try {
    await sleep(1000);
    const cpu0 = cpuSeconds(pid);
    crowd.process.stdin?.write(`measure ${RECORD_MS}\n`);
    await sleep(RECORD_MS + 500);
    const cores = (cpuSeconds(pid) - cpu0) / (RECORD_MS / 1000);
    return { protocol: "MSE (WebSocket)", viewers, "gateway cores": cores, "gateway RSS MB": rssMb(pid) };
  } finally {
    await crowd.stop();
  }
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "camgate-bench-hls-"));
  const children: Child[] = [];
  try {
    const camera = await startEmulatorProcess("amcrest-ip2m-841b", PASSWORD, 1, [
      "--main-bitrate",
      "2000000",
      "--fps",
      "25",
    ]);
    children.push(camera.child);
    const configFile = join(dir, "camgate.yaml");
    writeFileSync(
      configFile,
      [
        'server: { listen: "127.0.0.1:0" }',
        `storage: { dir: ${JSON.stringify(join(dir, "data"))} }`,
        "log: { level: warn }",
        "recording: { clips: { enabled: false } }",
        "relay: { lingerMs: 60000 }",
        "backup: { enabled: false }",
        "logSync: { enabled: false }",
        "events: { enabled: false }",
        "cameras:",
        `  - { id: yard, url: "${camera.urls[0]}", username: admin, password: ${PASSWORD}, rtsp: { port: ${rtspPortOf(camera.child.lines)} }, preload: true }`,
        "",
      ].join("\n"),
    );
    const { child: gateway, url } = await startBuiltGatewayProcess(configFile);
    children.push(gateway);
    const pid = gateway.process.pid as number;
    await sleep(3000);
    const rows: Record<string, string | number>[] = [];
    for (const viewers of COUNTS)
      rows.push(await hlsRow(`${url}/api/v1/cameras/yard/hls/index.m3u8`, pid, viewers));
    const mse = await mseRow(`${url.replace("http", "ws")}/api/v1/cameras/yard/live`, pid, 50);
    rows.push(mse);
    const hls50 = rows.find((r) => r.protocol === "LL-HLS" && r.viewers === 50) as Record<string, number>;
    const p50 = hls50["picture delay p50 ms"] as number;
    return {
      name: "hls",
      setup:
        "LL-HLS players (blocking reload, then the part, as players do) in this process against MSE viewers (a process of their own); " +
        "emulator main stream 2 Mbit/s 640x360 25 fps, 1 s GOP; built gateway, its CPU over 8 s; picture delay from the emulator's SEI capture stamps",
      tables: [{ title: "HLS and MSE viewers of one camera", rows }],
      ratios: {
        "HLS cores / MSE cores at 50 viewers":
          (hls50["gateway cores"] as number) / (mse["gateway cores"] as number),
      },
      targets: [
        {
          target: "50 LL-HLS viewers: a picture reaches the player within 1 s of capture (p50)",
          met: p50 < 1000,
          value: `${p50} ms`,
        },
      ],
    };
  } finally {
    for (const child of children.reverse()) child.process.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}
