/**
 * Events: camera event → webhook delivery latency, and a sustained 1,000 events per second for 60 s into the
 * store and to an SSE client, counted (none may be lost). The emulator and the webhook receiver run in this
 * process (the bench triggers the events), the gateway in its own process. `EVENTS_BENCH_SECONDS` shortens
 * the sustained run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { startEmulator } from "../src/emulator/index.ts";
import { SseClient } from "../test/helpers/sse.ts";
import { WebhookReceiver } from "../test/helpers/webhook-receiver.ts";
import type { BenchResult } from "./report.ts";
import { cpuSeconds, percentile, rssMb, sleep, startGatewayProcess } from "./support/processes.ts";

const PASSWORD = "bench-camera";
const SECRET = "bench-secret";

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

export async function run(): Promise<BenchResult> {
  const seconds = Number(process.env.EVENTS_BENCH_SECONDS ?? 60);
  const rate = 1000;
  const emulator = await startEmulator({ profile: "amcrest-ip2m-841b", password: PASSWORD });
  const receiver = new WebhookReceiver(SECRET);
  await receiver.start();
  const dir = mkdtempSync(join(tmpdir(), "camgate-events-bench-"));
  const camera = emulator.cameras[0];
  if (!camera) throw new Error("no camera");
  const configFile = join(dir, "camgate.yaml");
  writeFileSync(
    configFile,
    [
      'server: { listen: "127.0.0.1:0" }',
      `storage: { dir: ${JSON.stringify(join(dir, "data"))} }`,
      "log: { level: warn }",
      // Event clips hold each camera's main stream open: off, so the figures stay comparable.
      "recording: { clips: { enabled: false } }",
      "events: { heartbeatSeconds: 5, snapshotCodes: [], retention: { days: 1, maxEvents: 1000000 } }",
      `webhooks: [{ name: bench, url: "${receiver.url}", secret: ${SECRET}, codes: [AlarmLocal] }]`,
      `cameras: [{ id: cam, url: "${camera.url}", username: admin, password: ${PASSWORD} }]`,
      "",
    ].join("\n"),
  );
  const { child: gateway, url } = await startGatewayProcess(configFile);
  try {
    await until(() => camera.control.eventSubscribers() === 1, 10_000);

    // 1. Latency: one AlarmLocal every 20 ms, from the trigger to the webhook receiver.
    const latencies: number[] = [];
    const sentAt = new Map<number, number>();
    const count = 300;
    const before = receiver.received.length;
    for (let i = 0; i < count; i++) {
      sentAt.set(i, performance.now());
      camera.control.trigger("AlarmLocal", "Pulse", { index: i, data: { seq: i } });
      await sleep(20);
    }
    await until(() => receiver.received.length - before >= count, 30_000);
    // The receiver records arrival order; pair each by its channel (= seq) with its trigger time.
    const arrivals = receiver.received.slice(before);
    for (const delivery of arrivals) {
      const seq = delivery.body.channel;
      const sent = sentAt.get(seq);
      if (sent !== undefined) latencies.push(delivery.at - sent);
    }
    latencies.sort((a, b) => a - b);

    // 2. Sustained: 1,000 events per second (VideoMotionInfo-free Pulse events of a code no webhook wants).
    const sse = new SseClient(`${url}/api/v1/events/stream?code=CrossLineDetection`);
    await sse.open();
    const storedBefore = await storedCount(url);
    const cpuBefore = cpuSeconds(gateway.process.pid ?? 0);
    const started = performance.now();
    let triggered = 0;
    while (performance.now() - started < seconds * 1000) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (triggered < due) {
        camera.control.trigger("CrossLineDetection", "Pulse", { index: 0, data: { n: triggered } });
        triggered++;
      }
      await sleep(5);
    }
    const elapsed = (performance.now() - started) / 1000;
    const drained = await until(() => sse.messages.length >= triggered, 60_000);
    const cpu = (cpuSeconds(gateway.process.pid ?? 0) - cpuBefore) / elapsed;
    const rss = rssMb(gateway.process.pid ?? 0);
    const stored = (await storedCount(url)) - storedBefore;
    const received = sse.messages.length;
    const unique = new Set(sse.messages.map((m) => (m.data.data as { n: number }).n)).size;
    sse.close();
    return {
      name: "events",
      setup: `Emulator and webhook receiver in this process, gateway in its own. Latency: ${count} AlarmLocal pulses 20 ms apart, trigger → signed webhook received. Sustained: ${rate} CrossLineDetection pulses per second for ${seconds} s through the camera's event stream into SQLite and to one SSE client.`,
      tables: [
        {
          title: "camera event → webhook",
          rows: [
            {
              events: count,
              delivered: arrivals.length,
              "p50 ms": percentile(latencies, 50),
              "p99 ms": percentile(latencies, 99),
            },
          ],
        },
        {
          title: "sustained load",
          rows: [
            {
              "events sent": triggered,
              "events/s": triggered / elapsed,
              stored,
              "SSE received": received,
              "SSE unique": unique,
              lost: triggered - Math.min(stored, unique),
              "drained in time": drained ? "yes" : "no",
              "gateway CPU (cores)": cpu,
              "gateway RSS MB": rss,
            },
          ],
        },
      ],
      ratios: { "stored / sent": stored / triggered, "SSE unique / sent": unique / triggered },
      targets: [
        {
          target: `${rate} events/s for ${seconds} s, none lost (store and SSE)`,
          met: stored === triggered && unique === triggered,
          value: `${stored} stored, ${unique} on SSE of ${triggered}`,
        },
      ],
    };
  } finally {
    await gateway.stop();
    await receiver.stop();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function storedCount(url: string): Promise<number> {
  let total = 0;
  let cursor: string | undefined;
  for (;;) {
    const response = await request(
      `${url}/api/v1/events?code=CrossLineDetection&limit=1000${cursor ? `&cursor=${cursor}` : ""}`,
    );
    const page = (await response.body.json()) as { events: unknown[]; nextCursor?: string };
    total += page.events.length;
    if (!page.nextCursor) return total;
    cursor = page.nextCursor;
  }
}
