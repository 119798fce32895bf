/**
 * Idle: what camgate costs with 8 cameras and nobody watching, as an owner leaves it running. The gateway
 * as installed (the compiled CLI, its own process) on 8 emulated cameras (one process), measured for 20 s
 * after 20 s of settling: with event clips as by default (their pre-roll holds each camera's main stream
 * open), with `preRoll: none` (a stream opened per incident), and with clips off.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchResult } from "./report.ts";
import {
  cpuSeconds,
  rssMb,
  sleep,
  startBuiltGatewayProcess,
  startEmulatorProcess,
} from "./support/processes.ts";

const PASSWORD = "bench-camera";
const CAMERAS = 8;
const SETTLE_MS = 20_000;
const MEASURE_MS = 20_000;

interface Idle {
  setup: string;
  cpu: number;
  rss: number;
}

async function idle(setup: string, urls: string[], extra: string[]): Promise<Idle> {
  const dir = mkdtempSync(join(tmpdir(), "camgate-idle-bench-"));
  const configFile = join(dir, "camgate.yaml");
  writeFileSync(
    configFile,
    [
      'server: { listen: "127.0.0.1:0" }',
      `storage: { dir: ${JSON.stringify(join(dir, "data"))} }`,
      "log: { level: warn }",
      ...extra,
      "cameras:",
      ...urls.map((url, i) => `  - { id: cam${i}, url: "${url}", username: admin, password: ${PASSWORD} }`),
      "",
    ].join("\n"),
  );
  const { child } = await startBuiltGatewayProcess(configFile);
  try {
    const pid = child.process.pid ?? 0;
    await sleep(SETTLE_MS);
    const before = cpuSeconds(pid);
    await sleep(MEASURE_MS);
    return { setup, cpu: (cpuSeconds(pid) - before) / (MEASURE_MS / 1000), rss: rssMb(pid) };
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult> {
  const emulator = await startEmulatorProcess("amcrest-ip2m-841b", PASSWORD, CAMERAS);
  try {
    const withClips = await idle(
      "event clips on (the default: pre-roll from each main stream)",
      emulator.urls,
      [],
    );
    const noPreRoll = await idle("event clips, preRoll: none (no session held)", emulator.urls, [
      "recording: { clips: { preRoll: none } }",
    ]);
    const withoutClips = await idle("event clips off", emulator.urls, [
      "recording: { clips: { enabled: false } }",
    ]);
    const rows = [withClips, noPreRoll, withoutClips];
    return {
      name: "idle",
      setup: `Gateway (the compiled CLI, as installed) in its own process on ${CAMERAS} emulated cameras (amcrest-ip2m-841b, one process), no viewer; ${SETTLE_MS / 1000} s to settle, then CPU over ${MEASURE_MS / 1000} s and RSS at its end.`,
      tables: [
        {
          title: `idle with ${CAMERAS} cameras`,
          rows: rows.map((r) => ({ setup: r.setup, "gateway CPU (cores)": r.cpu, "gateway RSS MB": r.rss })),
        },
      ],
      ratios: {
        "RSS with clips / without": withClips.rss / withoutClips.rss,
        "RSS with clips, preRoll none / without": noPreRoll.rss / withoutClips.rss,
      },
      targets: [
        {
          target: `RSS at idle with ${CAMERAS} cameras (clips off) at most 100 MB`,
          met: withoutClips.rss <= 100,
          value: `${withoutClips.rss.toFixed(0)} MB`,
        },
      ],
    };
  } finally {
    await emulator.child.stop();
  }
}
