/**
 * The main stream in the browser: glass-to-glass latency over MSE and WebRTC in headless Chromium (the
 * emulator's counter video: its capture clock read back from the displayed pixels), the time from page
 * request to the first decoded frame with a 1 s and a 10 s GOP, and the gateway's cost for 100/200 MSE
 * viewers and 10/40 WebRTC viewers at 2 Mbit/s, with the MJPEG relay at 100/200 viewers as the reference
 * point, all in one run. Emulators, the gateway and the viewer crowds run as separate processes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Page } from "playwright-core";
import { launchChromium } from "../test/helpers/browser.ts";
import { measureGlass } from "../test/helpers/glass.ts";
import type { BenchResult } from "./report.ts";
import {
  type Child,
  cpuSeconds,
  percentile,
  rssMb,
  rtspPortOf,
  sleep,
  startEmulatorProcess,
  startGatewayProcess,
} from "./support/processes.ts";

const PASSWORD = "bench-camera";
const GLASS_FRAMES = 250;
const FIRST_FRAME_TRIES = 5;
const WARMUP_MS = 1500;
const RECORD_MS = 5000;

interface Crowd {
  process: ChildProcess;
  measure(
    ms: number,
  ): Promise<{ served: number; unitsPerSecond: number; mbitPerViewer: number; leastUnitsPerSecond: number }>;
  stop(): Promise<void>;
}

/** Starts `count` viewers of `kind` in their own process and waits until all of them have media. */
async function crowd(kind: "mse" | "webrtc" | "mjpeg", url: string, count: number): Promise<Crowd> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/support/live-viewers.ts", kind, url, String(count)],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind} viewers did not answer`)), 60_000);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const ready = await next();
  if (!ready.startsWith("ready")) throw new Error(`${kind} viewers: ${ready}`);
  return {
    process: child,
    measure: async (ms) => {
      const answer = next();
      child.stdin?.write(`measure ${ms}\n`);
      return JSON.parse(await answer);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin?.end();
      }),
  };
}

/**
 * From navigation start: when the page's `<video>` appeared (the page's own loading: script, session, the
 * camera page) and when it presented its first frame. Marks are taken by an init script, from the start.
 */
async function firstFrame(page: Page, url: string): Promise<{ element: number; frame: number }> {
  await page.goto(url);
  await page.waitForFunction(
    () => (globalThis as unknown as { __firstFrame?: number }).__firstFrame !== undefined,
    undefined,
    { timeout: 20_000 },
  );
  return page.evaluate(() => {
    const marks = globalThis as unknown as { __element: number; __firstFrame: number };
    return { element: marks.__element, frame: marks.__firstFrame };
  });
}

const FIRST_FRAME_MARKS = `
  (() => {
    const look = () => {
      const video = document.querySelector('[data-testid="live-video"]');
      if (!video) return setTimeout(look, 1);
      globalThis.__element = performance.now();
      video.requestVideoFrameCallback(() => { globalThis.__firstFrame = performance.now(); });
    };
    if (location.protocol.startsWith("http")) look();
  })();`;

const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
};

/**
 * tsx (esbuild's keepNames) wraps named functions in `__name(...)`; functions sent into the page carry those
 * calls, so the page gets a `__name` that does nothing (vitest's transform does not add them).
 */
async function newContext(
  browser: Awaited<ReturnType<typeof launchChromium>>,
  options: Parameters<Awaited<ReturnType<typeof launchChromium>>["browser"]["newContext"]>[0] = {},
) {
  const context = await browser.browser.newContext(options);
  await context.addInitScript({ content: "globalThis.__name = (fn) => fn;" });
  return context;
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "camgate-bench-browser-"));
  const children: Child[] = [];
  const crowds: Crowd[] = [];
  const browser = await launchChromium();
  try {
    const clock1 = await startEmulatorProcess("amcrest-ip2m-841b", PASSWORD, 1, ["--counter-video"]);
    // x264 fixtures at 2 Mbit/s, 1 s and 10 s GOPs, for first frames with real keyframe sizes (the counter
    // video's I_PCM keyframe is 350 KB, several times a real one) and for the crowds.
    const gop10 = await startEmulatorProcess("amcrest-ip2m-841b", PASSWORD, 1, [
      "--main-bitrate",
      "2000000",
      "--long-gop",
    ]);
    const load = await startEmulatorProcess("amcrest-ip2m-841b", PASSWORD, 1, [
      "--main-bitrate",
      "2000000",
      "--fps",
      "25",
    ]);
    children.push(clock1.child, gop10.child, load.child);
    const configFile = join(dir, "camgate.yaml");
    writeFileSync(
      configFile,
      [
        // The crowds are one principal (loopback, no users), who may hold half of maxSessions.
        'server: { listen: "127.0.0.1:0", webrtc: { maxSessions: 200 } }',
        `storage: { dir: ${JSON.stringify(join(dir, "data"))} }`,
        "log: { level: warn }",
        // Event clips hold each camera's main stream open: off, so the figures stay comparable.
        "recording: { clips: { enabled: false } }",
        "relay: { lingerMs: 60000 }",
        "backup: { enabled: false }",
        "logSync: { enabled: false }",
        "events: { enabled: false }",
        "cameras:",
        // preload: the main stream stays open, its GOP cache warm: what an owner sets for instant starts.
        `  - { id: clock1, url: "${clock1.urls[0]}", username: admin, password: ${PASSWORD}, rtsp: { port: ${rtspPortOf(clock1.child.lines)} }, preload: true }`,
        `  - { id: gop10, url: "${gop10.urls[0]}", username: admin, password: ${PASSWORD}, rtsp: { port: ${rtspPortOf(gop10.child.lines)} }, preload: true }`,
        `  - { id: load, url: "${load.urls[0]}", username: admin, password: ${PASSWORD}, rtsp: { port: ${rtspPortOf(load.child.lines)} }, preload: true }`,
        "",
      ].join("\n"),
    );
    const { child: gateway, url } = await startGatewayProcess(configFile);
    children.push(gateway);
    const pid = gateway.process.pid as number;
    await sleep(3000); // the preloaded streams open and fill their GOP caches

    // Glass to glass.
    const glass: Record<string, string | number>[] = [];
    const latencies: Record<string, number> = {};
    for (const [label, mode] of [
      ["MSE (WebSocket fMP4)", ""],
      ["WebRTC", "?mode=webrtc"],
    ] as const) {
      const context = await newContext(browser, { viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      await page.goto(`${url}/camera/clock1${mode}`);
      const video = page.getByTestId("live-video");
      await video.waitFor();
      await measureGlass(video, 25); // settle: the player finds its live edge
      const result = await measureGlass(video, GLASS_FRAMES, 60_000);
      const s = summary(result.samples.map((x) => x.latencyMs));
      latencies[label] = s.p95;
      glass.push({
        path: label,
        frames: result.samples.length,
        unreadable: result.unreadable,
        "p50 ms": s.p50,
        "p95 ms": s.p95,
        "max ms": s.max,
      });
      await context.close();
    }

    // First decoded frame from the page request.
    const first: Record<string, string | number>[] = [];
    const firstWorst: number[] = [];
    for (const [camera, gop] of [
      ["load", "1 s"],
      ["gop10", "10 s"],
    ] as const) {
      for (const [label, mode] of [
        ["MSE", ""],
        ["WebRTC", "?mode=webrtc"],
      ] as const) {
        // One browser tab, as a user has: the page's assets cached after the first visit; each try a fresh
        // navigation to the camera page (from a blank page, so the player starts from nothing).
        const context = await newContext(browser);
        await context.addInitScript({ content: FIRST_FRAME_MARKS });
        const page = await context.newPage();
        await firstFrame(page, `${url}/camera/${camera}${mode}`);
        const times: number[] = [];
        const players: number[] = [];
        for (let i = 0; i < FIRST_FRAME_TRIES; i++) {
          await page.goto("about:blank");
          await sleep(300);
          const marks = await firstFrame(page, `${url}/camera/${camera}${mode}`);
          times.push(marks.frame);
          players.push(marks.frame - marks.element);
        }
        await context.close();
        const s = summary(times);
        const p = summary(players);
        firstWorst.push(s.max);
        first.push({
          case: `${label}, ${gop} GOP (warm hub)`,
          tries: times.length,
          "page request → frame p50 ms": Math.round(s.p50),
          "max ms": Math.round(s.max),
          "player start → frame p50 ms": Math.round(p.p50),
          "player max ms": Math.round(p.max),
        });
      }
    }

    // Viewer crowds at 2 Mbit/s: the gateway's CPU and memory.
    const base = url.replace(/^http/, "ws");
    const rows: Record<string, string | number>[] = [];
    const cost: Record<string, number> = {};
    const cases: [string, "mse" | "webrtc" | "mjpeg", string, number][] = [
      ["MSE", "mse", `${base}/api/v1/cameras/load/live?stream=main`, 100],
      ["MSE", "mse", `${base}/api/v1/cameras/load/live?stream=main`, 200],
      ["WebRTC", "webrtc", `${url}/api/v1/cameras/load/webrtc?stream=main`, 10],
      ["WebRTC", "webrtc", `${url}/api/v1/cameras/load/webrtc?stream=main`, 40],
      ["MJPEG relay (640x480, reference)", "mjpeg", `${url}/api/v1/cameras/load/stream.mjpeg`, 100],
      ["MJPEG relay (640x480, reference)", "mjpeg", `${url}/api/v1/cameras/load/stream.mjpeg`, 200],
    ];
    for (const [label, kind, target, count] of cases) {
      const viewers = await crowd(kind, target, count);
      crowds.push(viewers);
      await sleep(WARMUP_MS);
      const before = cpuSeconds(pid);
      const measured = await viewers.measure(RECORD_MS);
      const cores = (cpuSeconds(pid) - before) / (RECORD_MS / 1000);
      const rss = rssMb(pid);
      await viewers.stop();
      crowds.splice(crowds.indexOf(viewers), 1);
      cost[`${kind} ${count}`] = cores;
      rows.push({
        setup: label,
        viewers: count,
        served: measured.served,
        "units/s each": Math.round(measured.unitsPerSecond * 10) / 10,
        "least units/s": Math.round(measured.leastUnitsPerSecond * 10) / 10,
        "Mbit/s each": Math.round(measured.mbitPerViewer * 100) / 100,
        "gateway CPU (cores)": Math.round(cores * 1000) / 1000,
        "gateway RSS MB": Math.round(rss),
      });
      await sleep(1000);
    }

    const mse200 = cost["mse 200"] ?? Number.NaN;
    const webrtc40 = cost["webrtc 40"] ?? Number.NaN;
    return {
      name: "Browser playback (MSE, WebRTC)",
      setup:
        "Emulators amcrest-ip2m-841b: one with the counter video (640x360 I_PCM/P_Skip H.264, 25 fps, 1 s GOP) for glass to glass, two with the x264 fixture (640x360, 25 fps) padded to 2 Mbit/s with a 1 s and a 10 s GOP for first frames and the crowds, all preloaded; gateway and the viewer crowds (Node: ws clients for MSE, werift receivers for WebRTC, HTTP for MJPEG) in separate processes; headless Debian Chromium (playwright-core) on the camera page. Glass to glass = the displayed frame's expectedDisplayTime minus the capture clock read from its pixels, " +
        `${GLASS_FRAMES} frames each; first frame = navigation start to the first presented frame, ${FIRST_FRAME_TRIES} tries each; crowds: ${WARMUP_MS} ms warm-up, ${RECORD_MS} ms recorded. One run.`,
      tables: [
        { title: "glass to glass (ms)", rows: glass },
        { title: "page request to first decoded frame", rows: first },
        { title: "viewers at 2 Mbit/s (units: fragments, RTP packets or JPEG frames)", rows },
      ],
      ratios: {
        "MSE p95 / WebRTC p95 glass to glass":
          (latencies["MSE (WebSocket fMP4)"] ?? Number.NaN) / (latencies.WebRTC ?? Number.NaN),
        "200 MSE viewers CPU / 200 MJPEG viewers CPU": mse200 / (cost["mjpeg 200"] ?? Number.NaN),
        "WebRTC CPU per viewer / MSE CPU per viewer": webrtc40 / 40 / (mse200 / 200),
      },
      targets: [
        {
          target: "MSE p95 glass to glass under 500 ms",
          met: (latencies["MSE (WebSocket fMP4)"] ?? Infinity) < 500,
          value: `${latencies["MSE (WebSocket fMP4)"]} ms`,
        },
        {
          target: "WebRTC p95 glass to glass under 150 ms",
          met: (latencies.WebRTC ?? Infinity) < 150,
          value: `${latencies.WebRTC} ms`,
        },
        {
          target: "first frame under 600 ms whatever the GOP",
          met: Math.max(...firstWorst) < 600,
          value: `worst ${Math.round(Math.max(...firstWorst))} ms`,
        },
        {
          target: "200 MSE viewers under 0.15 cores",
          met: mse200 < 0.15,
          value: `${mse200.toFixed(3)} cores`,
        },
        {
          target: "40 WebRTC viewers under 0.5 cores",
          met: webrtc40 < 0.5,
          value: `${webrtc40.toFixed(3)} cores`,
        },
      ],
    };
  } finally {
    for (const viewers of crowds) await viewers.stop();
    await browser.close();
    for (const child of children.reverse()) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
