/**
 * The RTSP relay: camgate's RTSP server fanning one camera session out to 1-300 viewers, against viewers
 * reading the camera directly and against a naive TCP forwarder (one camera session per viewer), in one run;
 * first-picture time with 1 s and 10 s GOPs; and the gap viewers see when the camera connection drops.
 * Emulators (main stream padded to 2 Mbit/s, 640x360 H.264 at 25 fps), the gateway (or the forwarder) and
 * this load generator run as separate processes on this 2-core machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { request } from "undici";
import type { BenchResult } from "./report.ts";
import {
  bareNodeRssMb,
  type Child,
  cpuSeconds,
  percentile,
  privateMb,
  rssMb,
  rtspPortOf,
  sleep,
  startBuiltGatewayProcess,
  startEmulatorProcess,
  startPython,
  startTsx,
} from "./support/processes.ts";
import { RtspViewer } from "./support/rtsp-viewer.ts";

const PASSWORD = "bench-camera";
const BITRATE = 2_000_000;
const FPS = 25;
const WARMUP_MS = 1500;
const RECORD_MS = 5000;
/** Viewers that read the SEI stamps for latency (the rest count bytes and pictures: a light load generator). */
const STAMPED = 10;
const MAIN = "/cam/realmonitor?channel=1&subtype=0";
const ROUNDS = 3;
/** Viewer counts for the GStreamer relay's rows (the peer's own limits are not what is measured). */
const GST_VIEWERS = [1, 10, 100];

const at = (list: Measure[], viewers: number) => list.find((m) => m.viewers === viewers) as Measure;

/** Each figure the median of the runs' (runs of one row). */
function median(runs: Measure[], label: string): Measure {
  const mid = (pick: (m: Measure) => number) => {
    const values = runs.map(pick).sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)] as number;
  };
  return {
    label,
    viewers: (runs[0] as Measure).viewers,
    served: Math.min(...runs.map((m) => m.served)),
    picturesPerSecond: mid((m) => m.picturesPerSecond),
    mbitPerViewer: mid((m) => m.mbitPerViewer),
    p50: mid((m) => m.p50),
    p99: mid((m) => m.p99),
    cpu: mid((m) => m.cpu),
    rss: mid((m) => m.rss),
    private: mid((m) => m.private),
    loadLoopP99: mid((m) => m.loadLoopP99),
  };
}

interface Measure {
  label: string;
  viewers: number;
  served: number;
  picturesPerSecond: number;
  mbitPerViewer: number;
  p50: number;
  p99: number;
  cpu: number;
  rss: number;
  /** Memory only the proxy holds (private pages), MB. */
  private: number;
  /** This load generator's own event-loop delay p99 while recording: latency it adds to what it measures. */
  loadLoopP99: number;
}

async function measure(
  label: string,
  make: (stamped: boolean) => RtspViewer,
  count: number,
  pid: number | undefined,
): Promise<Measure> {
  const viewers = Array.from({ length: count }, (_, i) => make(i < STAMPED));
  // Opened in batches, as a crowd arrives, not 300 handshakes in the same millisecond.
  for (let i = 0; i < viewers.length; i += 25)
    await Promise.all(viewers.slice(i, i + 25).map((v) => v.start()));
  await sleep(WARMUP_MS);
  for (const v of viewers) v.record(true);
  const bytesBefore = viewers.map((v) => v.bytes);
  const cpuBefore = pid ? cpuSeconds(pid) : 0;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  await sleep(RECORD_MS);
  loop.disable();
  const cpuAfter = pid ? cpuSeconds(pid) : 0;
  const rss = pid ? rssMb(pid) : Number.NaN;
  const ownMemory = pid ? privateMb(pid) : Number.NaN;
  for (const v of viewers) v.record(false);
  const served = viewers.filter((v) => v.ok && v.pictures > 0);
  const latencies = served.flatMap((v) => v.latencies).sort((a, b) => a - b);
  const bytes = served.reduce((sum, v) => sum + v.bytes - (bytesBefore[viewers.indexOf(v)] ?? 0), 0);
  for (const v of viewers) v.stop();
  const seconds = RECORD_MS / 1000;
  return {
    label,
    viewers: count,
    served: served.length,
    picturesPerSecond: served.length
      ? served.reduce((n, v) => n + v.pictures, 0) / served.length / seconds
      : 0,
    mbitPerViewer: served.length ? (bytes * 8) / served.length / seconds / 1e6 : 0,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpu: (cpuAfter - cpuBefore) / seconds,
    rss,
    private: ownMemory,
    loadLoopP99: loop.percentile(99) / 1e6,
  };
}

function row(m: Measure, direct: Measure): Record<string, string | number> {
  return {
    setup: m.label,
    viewers: m.viewers,
    served: m.served,
    "pictures/s": m.picturesPerSecond,
    "Mbit/s each": m.mbitPerViewer,
    "latency p50 ms": m.p50,
    "latency p99 ms": m.p99,
    "added p50 ms": m.p50 - direct.p50,
    "added p99 ms": m.p99 - direct.p99,
    "proxy CPU (cores)": m.cpu,
    "proxy RSS MB": m.rss,
    "proxy private MB": m.private,
    "load gen loop p99 ms": m.loadLoopP99,
  };
}

/** Time to the first decodable picture for fresh viewers, `trials` times at random points of the GOP. */
async function firstPicture(make: () => RtspViewer, trials: number): Promise<{ p50: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < trials; i++) {
    await sleep(100 + Math.random() * 900);
    const viewer = make();
    await viewer.start();
    const deadline = performance.now() + 15_000;
    while (viewer.firstDecodableMs === undefined && performance.now() < deadline) await sleep(5);
    times.push(viewer.firstDecodableMs ?? Number.POSITIVE_INFINITY);
    viewer.stop();
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), max: times[times.length - 1] ?? Number.NaN };
}

interface StreamInfo {
  rtspSessions: { inUse: number };
  streams: { name: string; upstreamConnects: number; rtspUrl: string | null }[];
}

async function streamInfo(gatewayUrl: string, camera: string): Promise<StreamInfo> {
  const response = await request(`${gatewayUrl}/api/v1/cameras/${camera}/streams`);
  return (await response.body.json()) as StreamInfo;
}

export async function run(): Promise<BenchResult> {
  const children: Child[] = [];
  const dir = mkdtempSync(join(tmpdir(), "camgate-rtsp-bench-"));
  try {
    const bitrate = ["--main-bitrate", String(BITRATE)];
    const camera = await startEmulatorProcess("amcrest-ip2m-841b", PASSWORD, 1, bitrate);
    const longGop = await startEmulatorProcess("amcrest-ip2m-841b", PASSWORD, 1, [...bitrate, "--long-gop"]);
    children.push(camera.child, longGop.child);
    const cameraRtsp = rtspPortOf(camera.child.lines);
    const longGopRtsp = rtspPortOf(longGop.child.lines);
    // The gateway reaches the camera through a forwarder, so the camera connection can be cut for the
    // reconnect measurement (one 2 Mbit/s stream through it: negligible).
    const cut = await startTsx("bench/support/tcp-forward.ts", [String(cameraRtsp)], /^forward on \d+/);
    children.push(cut);
    const cutPort = Number(/on (\d+)/.exec(cut.lines[0] ?? "")?.[1]);
    const configFile = join(dir, "camgate.yaml");
    writeFileSync(
      configFile,
      [
        // 300 viewers come from one address here; a real crowd comes from many (the limit is 64 each).
        'server: { listen: "127.0.0.1:0", rtsp: { listen: "127.0.0.1:0", maxConnectionsPerAddress: 400 } }',
        `storage: { dir: ${JSON.stringify(join(dir, "data"))} }`,
        "log: { level: warn }",
        // Event clips hold each camera's main stream open: off, so the figures stay comparable.
        "recording: { clips: { enabled: false } }",
        "relay: { lingerMs: 60000 }",
        // Backups and log sync run at start-up, right when the first rows are measured: off, so the table
        // is the relay's alone.
        "backup: { enabled: false }",
        "logSync: { enabled: false }",
        "cameras:",
        `  - { id: cam, url: "${camera.urls[0]}", username: admin, password: ${PASSWORD}, rtsp: { port: ${cutPort} } }`,
        `  - { id: gop10, url: "${longGop.urls[0]}", username: admin, password: ${PASSWORD}, rtsp: { port: ${longGopRtsp} } }`,
        "",
      ].join("\n"),
    );
    const { child: gateway, url: gatewayUrl } = await startBuiltGatewayProcess(configFile);
    children.push(gateway);
    const pid = gateway.process.pid;
    const camgateUrl =
      (await streamInfo(gatewayUrl, "cam")).streams.find((s) => s.name === "main")?.rtspUrl ?? "";
    const gop10Url =
      (await streamInfo(gatewayUrl, "gop10")).streams.find((s) => s.name === "main")?.rtspUrl ?? "";
    const directUrl = `rtsp://127.0.0.1:${cameraRtsp}${MAIN}`;
    const directLongUrl = `rtsp://127.0.0.1:${longGopRtsp}${MAIN}`;
    const camgateViewer = (stamped: boolean) => new RtspViewer(camgateUrl, { stamped });
    const directViewer = (url: string) => (stamped: boolean) =>
      new RtspViewer(url, { username: "admin", password: PASSWORD, stamped });

    // Warm-up, not reported: the gateway's first session and JIT (the table is about the steady state).
    await measure("warm-up", camgateViewer, 10, pid);
    // Three rounds, the direct baseline (4 viewers on the camera itself: camgate holds a fifth session) in
    // each, and every figure the median of its three: p99 and CPU on a shared 2-core machine are noisy.
    const rounds: { direct: Measure; fanout: Measure[] }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const baseline = await measure("direct from the camera", directViewer(directUrl), 4, undefined);
      const measured: Measure[] = [];
      for (const n of [1, 10, 100, 300]) measured.push(await measure("camgate RTSP", camgateViewer, n, pid));
      rounds.push({ direct: baseline, fanout: measured });
    }
    const direct = median(
      rounds.map((r) => r.direct),
      `direct from the camera (median of ${ROUNDS})`,
    );
    const fanout = [1, 10, 100, 300].map((n) =>
      median(
        rounds.map((r) => at(r.fanout, n)),
        `camgate RTSP (median of ${ROUNDS})`,
      ),
    );
    const afterFanout = await streamInfo(gatewayUrl, "cam");
    const rows = [row(direct, direct), ...fanout.map((m) => row(m, direct))];

    // The naive forwarder: each viewer is its own camera session, and the camera has 6.
    const naive = await startTsx("bench/support/tcp-forward.ts", [String(cameraRtsp)], /^forward on \d+/);
    children.push(naive);
    const naiveUrl = `rtsp://127.0.0.1:${/on (\d+)/.exec(naive.lines[0] ?? "")?.[1]}${MAIN}`;
    const naiveRows: Measure[] = [];
    for (const n of [1, 6, 10]) {
      const m = await measure("naive TCP forward", directViewer(naiveUrl), n, naive.process.pid);
      naiveRows.push(m);
      rows.push(row(m, direct));
      await sleep(500);
    }

    // The peer: GStreamer's RTSP server as a relay (one shared media pulling the camera once), read by the
    // same viewers, in rounds as camgate's rows; its upstream goes to the camera directly.
    const gst = await startPython(
      "bench/support/gst-rtsp-relay.py",
      [directUrl, "admin", PASSWORD],
      /^port \d+/,
    );
    children.push(gst);
    const gstUrl = `rtsp://127.0.0.1:${/port (\d+)/.exec(gst.lines[0] ?? "")?.[1]}/relay`;
    const gstViewer = (stamped: boolean) => new RtspViewer(gstUrl, { stamped });
    const gstRounds: Measure[][] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const measured: Measure[] = [];
      for (const n of GST_VIEWERS)
        measured.push(await measure("GStreamer RTSP server", gstViewer, n, gst.process.pid));
      gstRounds.push(measured);
    }
    const gstRows = GST_VIEWERS.map((n) =>
      median(
        gstRounds.map((r) => at(r, n)),
        `GStreamer RTSP server, relay (median of ${ROUNDS})`,
      ),
    );
    for (const m of gstRows) rows.push(row(m, direct));

    // First decodable picture: camgate's hubs are warm (a viewer keeps each live); the camera makes a new
    // session wait for its next keyframe.
    const keepers = [new RtspViewer(camgateUrl), new RtspViewer(gop10Url)];
    await Promise.all(keepers.map((k) => k.start()));
    await sleep(11_000);
    const first = {
      camgate1: await firstPicture(() => new RtspViewer(camgateUrl), 10),
      camgate10: await firstPicture(() => new RtspViewer(gop10Url), 10),
      direct1: await firstPicture(() => directViewer(directUrl)(false), 10),
      direct10: await firstPicture(() => directViewer(directLongUrl)(false), 4),
    };
    for (const k of keepers) k.stop();

    // Reconnect: the camera connection is cut under a watching viewer; the gap it sees, and whether it stays.
    const watcher = new RtspViewer(camgateUrl);
    await watcher.start();
    await sleep(1000);
    watcher.record(true);
    await sleep(1000);
    cut.process.kill("SIGUSR1");
    await sleep(6000);
    watcher.record(false);
    const gaps = watcher.arrivals.slice(1).map((t, i) => t - (watcher.arrivals[i] as number));
    const reconnectGap = Math.max(0, ...gaps);
    const stayed = !watcher.closed;
    watcher.stop();
    const afterCut = await streamInfo(gatewayUrl, "cam");

    // Reboot: the camera goes away for 3 s (SIGUSR2 to the emulator process); how soon after it is back
    // does a watching viewer get pictures again, and does it stay connected.
    const rebootWatcher = new RtspViewer(camgateUrl);
    await rebootWatcher.start();
    await sleep(1000);
    rebootWatcher.record(true);
    const linesBefore = camera.child.lines.length;
    camera.child.process.kill("SIGUSR2");
    const rebootDeadline = performance.now() + 20_000;
    while (!camera.child.lines.slice(linesBefore).includes("back up") && performance.now() < rebootDeadline)
      await sleep(5);
    const backAt = performance.now();
    await sleep(8000);
    rebootWatcher.record(false);
    const againAt = rebootWatcher.arrivals.find((t) => t > backAt);
    const videoAgainMs = againAt === undefined ? Number.POSITIVE_INFINITY : againAt - backAt;
    const keptThroughReboot = !rebootWatcher.closed;
    rebootWatcher.stop();

    const relay300 = at(fanout, 300);
    const relay100 = at(fanout, 100);
    const nodeFloor = await bareNodeRssMb();
    const gst100 = at(gstRows, 100);
    const gst10 = at(gstRows, 10);
    const relay10 = at(fanout, 10);
    const naive6 = at(naiveRows, 6);
    const naive10 = at(naiveRows, 10);
    const connects = afterFanout.streams.find((s) => s.name === "main")?.upstreamConnects ?? 0;
    const reconnects = (afterCut.streams.find((s) => s.name === "main")?.upstreamConnects ?? 0) - connects;
    return {
      name: "RTSP relay",
      setup: `Emulators amcrest-ip2m-841b, main stream 640x360 H.264 ${FPS} fps padded to ${BITRATE / 1e6} Mbit/s (1 s GOP; a second camera with a 10 s GOP), the camera's 6-session limit; gateway (or a naive TCP forwarder, or GStreamer's RTSP server as a relay: gst-rtsp-server through Debian's python3, one shared media, TCP) and this load generator in separate processes; a 10-viewer warm-up round first (not shown); each row: ${WARMUP_MS} ms warm-up, ${RECORD_MS} ms recorded, ${ROUNDS} rounds, each figure the median (served: the least); latency = arrival of a picture's last packet minus its SEI capture stamp, read by ${STAMPED} viewers per row (ms resolution); "added" = minus the direct viewers' (negative: within the baseline's noise). CPU/RSS are the proxy process's (camgate: the compiled CLI, as installed).`,
      tables: [
        { title: "fan-out", rows },
        {
          title: "first decodable picture (ms from connect; p50 / max of 10, 4 for the direct 10 s GOP)",
          rows: [
            { case: "camgate, 1 s GOP (warm hub)", p50: first.camgate1.p50, max: first.camgate1.max },
            { case: "camgate, 10 s GOP (warm hub)", p50: first.camgate10.p50, max: first.camgate10.max },
            { case: "camera directly, 1 s GOP", p50: first.direct1.p50, max: first.direct1.max },
            { case: "camera directly, 10 s GOP", p50: first.direct10.p50, max: first.direct10.max },
          ],
        },
        {
          title: "upstream",
          rows: [
            {
              "camera sessions opened for all fan-out rows": connects,
              "reconnects after the cut": reconnects,
              "longest gap a viewer saw across the cut (ms)": reconnectGap,
              "viewer stayed connected": stayed ? "yes" : "no",
              "pictures again after a 3 s reboot (ms after its return)": videoAgainMs,
              "viewer stayed through the reboot": keptThroughReboot ? "yes" : "no",
            },
          ],
        },
      ],
      ratios: {
        "camgate 300 viewers CPU / naive 6 viewers CPU": relay300.cpu / naive6.cpu,
        "camgate 10 viewers CPU per viewer / naive 6 CPU per viewer": relay10.cpu / 10 / (naive6.cpu / 6),
        "camgate 10 viewers added p99 / naive 6 added p99":
          (relay10.p99 - direct.p99) / Math.max(1, naive6.p99 - direct.p99),
        "first picture, 10 s GOP: camgate / direct": first.camgate10.p50 / first.direct10.p50,
        "camgate 100 viewers CPU / GStreamer 100 viewers CPU": relay100.cpu / gst100.cpu,
        "camgate 100 viewers RSS / GStreamer 100 viewers RSS": relay100.rss / gst100.rss,
        "camgate 100 viewers RSS above idle Node / GStreamer 100 viewers RSS":
          (relay100.rss - nodeFloor) / gst100.rss,
        "camgate 10 viewers added p50 / GStreamer 10 viewers added p50":
          (relay10.p50 - direct.p50) / Math.max(1, gst10.p50 - direct.p50),
      },
      targets: [
        {
          target: "relay CPU at 100 viewers at most 0.6× GStreamer's",
          met: relay100.cpu <= 0.6 * gst100.cpu,
          value: `${relay100.cpu.toFixed(3)} vs ${gst100.cpu.toFixed(3)} cores (${(relay100.cpu / gst100.cpu).toFixed(2)}×)`,
        },
        {
          target: "RSS at 100 viewers at most 1.5× GStreamer's",
          met: relay100.rss <= 1.5 * gst100.rss,
          value: `${relay100.rss.toFixed(0)} vs ${gst100.rss.toFixed(0)} MB (${(relay100.rss / gst100.rss).toFixed(2)}×; Node alone, idle with nothing loaded: ${nodeFloor.toFixed(0)} MB; private memory ${relay100.private.toFixed(0)} vs ${gst100.private.toFixed(0)} MB)`,
        },
        {
          target: "300 viewers served at the full rate",
          met: relay300.served === 300 && relay300.picturesPerSecond >= FPS * 0.95,
          value: `${relay300.served} served at ${relay300.picturesPerSecond.toFixed(1)} pictures/s`,
        },
        {
          target: "300 viewers under 0.15 cores",
          met: relay300.cpu < 0.15,
          value: `${relay300.cpu.toFixed(3)} cores`,
        },
        {
          target: "p99 added latency under 5 ms at 10 viewers",
          met: relay10.p99 - direct.p99 < 5,
          value: `${(relay10.p99 - direct.p99).toFixed(1)} ms`,
        },
        {
          target: "first picture under 300 ms, 10 s GOP",
          met: first.camgate10.max < 300,
          value: `p50 ${first.camgate10.p50.toFixed(0)} ms, max ${first.camgate10.max.toFixed(0)} ms`,
        },
        {
          target: "one camera session for every fan-out row",
          met: connects === 1,
          value: String(connects),
        },
        {
          target: "back within 2 s of a cut camera connection, viewer kept",
          met: reconnectGap < 2000 && stayed,
          value: `${reconnectGap.toFixed(0)} ms gap, ${stayed ? "kept" : "dropped"}`,
        },
        {
          target: "video again within 2 s of the camera's return from a reboot, viewer kept",
          met: videoAgainMs < 2000 && keptThroughReboot,
          value: `${videoAgainMs.toFixed(0)} ms, ${keptThroughReboot ? "kept" : "dropped"}`,
        },
        {
          target: "the naive forwarder serves at most the camera's 6 sessions",
          met: naive10.served <= 6,
          value: `${naive10.served} of 10 served`,
        },
      ],
    };
  } finally {
    for (const child of children.reverse()) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
