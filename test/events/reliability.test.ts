/** Events that do not die silently, and deliveries that survive receivers being down and the gateway being killed. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, httpGet, waitFor } from "../helpers/http.ts";
import { SseClient } from "../helpers/sse.ts";
import { WebhookReceiver } from "../helpers/webhook-receiver.ts";

const SECRET = "reliability-secret";
/** A secret in the Standard Webhooks form (whsec_ + base64 of the key). */
const WHSEC = `whsec_${Buffer.from("a 32-byte key for the down test!").toString("base64")}`;
const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");

describe("event stream watchdog", () => {
  let gw: TestGateway | undefined;
  let sse: SseClient | undefined;
  afterEach(async () => {
    sse?.close();
    await gw?.close();
  });

  it("reconnects a silently stalled stream within two heartbeats plus margin, stops what ended meanwhile, and delivers later events", async () => {
    gw = await startTestGateway({
      cameras: [{ id: "dogs", profile: "dahua-2024" }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
    });
    const control = gw.cameras.get("dogs")?.control;
    const stream = gw.camgate.events.sources.streams.get("dogs");
    if (!control || !stream) throw new Error("setup");
    await waitFor(
      () => (control.eventSubscribers() === 1 && stream.current === "live" ? true : undefined),
      10_000,
      "the event stream",
    );
    sse = new SseClient(`${gw.url}/api/v1/events/stream`);
    await sse.open();
    control.trigger("VideoMotion", "Start");
    await sse.waitFor(
      (m) => m.some((x) => x.data.code === "VideoMotion" && x.data.action === "start"),
      10_000,
      "the start",
    );
    control.stallStreams(true);
    // The motion ends while the stream is stalled: the camera's stop is never written to us.
    control.trigger("VideoMotion", "Stop");
    // Two heartbeats (2 s) plus the 2 s margin (4 s), and slack for a busy machine.
    await waitFor(() => (stream.stalls >= 1 ? true : undefined), 7000, "the watchdog to notice the silence");
    control.stallStreams(false);
    await waitFor(
      () => (stream.reconnects >= 1 && stream.current === "live" ? true : undefined),
      10_000,
      "the reconnect",
    );
    const stop = (
      await sse.waitFor(
        (m) => m.some((x) => x.data.code === "VideoMotion" && x.data.action === "stop"),
        10_000,
        "the catch-up stop",
      )
    ).find((x) => x.data.code === "VideoMotion" && x.data.action === "stop");
    expect(stop?.data.data).toMatchObject({ synthetic: true });
    await sse.waitFor(
      (m) => m.some((x) => x.data.code === "StreamStalled"),
      10_000,
      "the StreamStalled gateway event",
    );
    control.trigger("AlarmLocal", "Pulse");
    await sse.waitFor((m) => m.some((x) => x.data.code === "AlarmLocal"), 10_000, "an event after recovery");
  }, 30_000);

  it("tells a camera reboot from its smaller uptime after the event stream came back", async () => {
    gw = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b", emulator: { rebootDurationMs: 300 } }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
    });
    const control = gw.cameras.get("dogs")?.control;
    const stream = gw.camgate.events.sources.streams.get("dogs");
    if (!control || !stream) throw new Error("setup");
    await waitFor(() => (stream.current === "live" ? true : undefined), 10_000, "the event stream");
    sse = new SseClient(`${gw.url}/api/v1/events/stream`);
    await sse.open();
    await control.reboot(300);
    const rebooted = await sse.waitFor(
      (m) => m.some((x) => x.data.code === "CameraRebooted"),
      15_000,
      "CameraRebooted",
    );
    expect(rebooted.find((x) => x.data.code === "CameraRebooted")?.data).toMatchObject({
      source: "gateway",
      camera: "dogs",
    });
  }, 30_000);

  it("skips a malformed part and keeps the stream", async () => {
    gw = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
    });
    const control = gw.cameras.get("dogs")?.control;
    const stream = gw.camgate.events.sources.streams.get("dogs");
    if (!control || !stream) throw new Error("setup");
    await waitFor(() => (stream.current === "live" ? true : undefined), 10_000, "the event stream");
    sse = new SseClient(`${gw.url}/api/v1/events/stream`);
    await sse.open();
    control.sendMalformedEventPart();
    control.trigger("AlarmLocal", "Start");
    await sse.waitFor(
      (m) => m.some((x) => x.data.code === "AlarmLocal"),
      10_000,
      "the event after the broken part",
    );
    expect(stream.malformedParts).toBeGreaterThanOrEqual(1);
    expect(stream.reconnects).toBe(0);
    // Said once, with its camera, however many such parts come.
    control.sendMalformedEventPart();
    control.trigger("AlarmLocal", "Stop");
    await sse.waitFor((m) => m.filter((x) => x.data.code === "AlarmLocal").length >= 2, 10_000, "the stop");
    const said = gw
      .logs()
      .split("\n")
      .filter((line) => line.includes("event stream part not understood"));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('"camera":"dogs"');
  });

  it("takes RtspSessionDisconnect (a Start with no Stop) as a pulse, and LocaleTime only as a time (issue 27)", async () => {
    gw = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
    });
    const control = gw.cameras.get("dogs")?.control;
    const stream = gw.camgate.events.sources.streams.get("dogs");
    if (!control || !stream) throw new Error("setup");
    await waitFor(() => (stream.current === "live" ? true : undefined), 10_000, "the event stream");
    sse = new SseClient(`${gw.url}/api/v1/events/stream`);
    await sse.open();
    control.trigger("RtspSessionDisconnect", "Start", { data: { LocaleTime: "not a time", Device: "x" } });
    control.trigger("AlarmLocal", "Pulse", { data: { LocaleTime: "2026-12-07 10:11:12" } });
    const messages = await sse.waitFor(
      (m) => m.some((x) => x.data.code === "AlarmLocal"),
      10_000,
      "both events",
    );
    const disconnect = messages.find((x) => x.data.code === "RtspSessionDisconnect");
    expect(disconnect?.data.action).toBe("pulse");
    const page = (await (await fetch(`${gw.url}/api/v1/events?camera=dogs`)).json()) as {
      events: { code: string; cameraTime: string | null; data: unknown }[];
    };
    const stored = (code: string) => page.events.find((e) => e.code === code);
    expect(stored("RtspSessionDisconnect")?.cameraTime).toBeNull();
    expect(stored("RtspSessionDisconnect")?.data).toMatchObject({ LocaleTime: "not a time" });
    expect(stored("AlarmLocal")?.cameraTime).toBe("2026-12-07T10:11:12");
  });
});

describe("webhook deliveries", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("a receiver that was down gets every event when it comes back, each delivery once, in order", async () => {
    const receiver = new WebhookReceiver(WHSEC);
    // Down at first: nothing listens on its port until it comes back.
    const port = await freePort();
    const gw = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
      webhooks: [
        { name: "down", url: `http://127.0.0.1:${port}/hook`, secret: WHSEC, legacySignature: false },
      ],
    });
    cleanups.push(() => gw.close());
    cleanups.push(() => receiver.stop());
    const control = gw.cameras.get("dogs")?.control;
    await waitFor(
      () => (gw.camgate.events.sources.streams.get("dogs")?.current === "live" ? true : undefined),
      10_000,
      "the event stream",
    );
    for (let i = 0; i < 5; i++) control?.trigger("AlarmLocal", "Pulse", { index: i });
    const worker = gw.camgate.events.deliveries.webhooks[0]?.worker;
    await waitFor(() => ((worker?.failures ?? 0) >= 1 ? true : undefined), 10_000, "a failed attempt");
    await receiver.start(port);
    const received = await waitFor(
      () => (receiver.received.length >= 5 ? receiver.received : undefined),
      20_000,
      "all five deliveries",
    );
    expect(received.map((d) => d.body.channel)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(received.map((d) => d.id)).size).toBe(received.length);
    const ids = received.map((d) => d.body.id);
    expect(ids).toEqual([...ids].sort());
    // Verified by the Standard Webhooks library with the whsec_ secret; no camgate 0.1 header sent.
    expect(received.every((d) => d.signatureValid)).toBe(true);
    expect(received.every((d) => d.legacySignatureValid === undefined)).toBe(true);
    const deliveries = JSON.parse((await httpGet(`${gw.url}/api/v1/deliveries`)).text);
    expect(deliveries.targets).toContainEqual(
      expect.objectContaining({ target: "webhook:down", state: "delivered", count: 5 }),
    );
  }, 40_000);

  it("the gateway killed with SIGKILL during delivery and restarted delivers the rest", async () => {
    const receiver = new WebhookReceiver(SECRET);
    await receiver.start();
    receiver.failing = true;
    cleanups.push(() => receiver.stop());
    const emulator: RunningEmulator = await startEmulator({
      profile: "amcrest-ip2m-841b",
      password: "kill-test-pw",
    });
    cleanups.push(() => emulator.close());
    const dir = mkdtempSync(join(tmpdir(), "camgate-kill-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    writeFileSync(
      join(dir, "camgate.yaml"),
      [
        `server: { listen: "127.0.0.1:${port}" }`,
        "storage: { dir: ./data }",
        "log: { level: info }",
        "events: { heartbeatSeconds: 1, snapshotCodes: [] }",
        `webhooks: [{ name: hook, url: "${receiver.url}", secret: ${SECRET} }]`,
        `cameras: [{ id: dogs, url: "${emulator.cameras[0]?.url}", username: admin, password: kill-test-pw }]`,
        "",
      ].join("\n"),
    );
    const start = (): Promise<ChildProcess> =>
      new Promise((resolveStart, reject) => {
        const child = spawn(process.execPath, [BIN, "serve", "-c", "camgate.yaml"], {
          cwd: dir,
          stdio: ["ignore", "pipe", "pipe"],
        });
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
          if (line.includes("camera(s) on")) resolveStart(child);
        });
        child.once("exit", (code) => reject(new Error(`gateway exited with ${code}`)));
      });
    let gateway = await start();
    cleanups.push(async () => {
      if (gateway.exitCode === null) {
        gateway.kill("SIGTERM");
        await new Promise((r) => gateway.once("exit", r));
      }
    });
    const control = emulator.cameras[0]?.control;
    await waitFor(() => (control?.eventSubscribers() === 1 ? true : undefined), 10_000, "the event stream");
    for (let i = 0; i < 5; i++) control?.trigger("AlarmLocal", "Pulse", { index: i });
    const stored = await waitFor(
      async () => {
        const list = JSON.parse(
          (await httpGet(`http://127.0.0.1:${port}/api/v1/events?code=AlarmLocal`)).text,
        );
        return list.events.length === 5 ? (list.events as { id: string }[]) : undefined;
      },
      10_000,
      "five stored events",
    );
    gateway.kill("SIGKILL");
    await new Promise((r) => gateway.once("exit", r));
    receiver.failing = false;
    gateway = await start();
    const received = await waitFor(
      () => {
        const ids = new Set(receiver.received.map((d) => d.body.id));
        return stored.every((e) => ids.has(e.id)) ? receiver.received : undefined;
      },
      30_000,
      "every stored event delivered after the restart",
    );
    // Each delivery once; a repeat is allowed only for one that was in flight at the kill (none were: the receiver was failing).
    expect(new Set(received.map((d) => d.id)).size).toBe(received.length);
  }, 60_000);
});
