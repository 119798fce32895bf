/** MQTT 5 against a real broker: Debian's mosquitto, started by the test on a loopback port. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const MOSQUITTO = "/usr/sbin/mosquitto";
const locateMosquitto = () => (existsSync(MOSQUITTO) ? MOSQUITTO : undefined);

describe("MQTT 5 with mosquitto", () => {
  let broker: ChildProcess | undefined;
  let dir = "";
  let port = 0;
  let gw: TestGateway | undefined;

  beforeAll(async () => {
    if (!locateMosquitto()) return;
    dir = mkdtempSync(join(tmpdir(), "camgate-mosquitto-"));
    port = await freePort();
    writeFileSync(
      join(dir, "mosquitto.conf"),
      `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`,
    );
    broker = spawn(MOSQUITTO, ["-c", join(dir, "mosquitto.conf")], { stdio: "ignore" });
    await waitFor(
      async () => {
        const probe = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
          protocolVersion: 5,
          reconnectPeriod: 0,
          connectTimeout: 500,
        });
        const ok = await new Promise<boolean>((resolve) => {
          probe.once("connect", () => resolve(true));
          probe.once("error", () => resolve(false));
          probe.once("close", () => resolve(false));
        });
        await probe.endAsync(true);
        return ok ? true : undefined;
      },
      10_000,
      "mosquitto to listen",
    );
    gw = await startTestGateway({
      cameras: [{ id: "front", profile: "dahua-2024" }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
      mqtt: { url: `mqtt://127.0.0.1:${port}`, prefix: "cg" },
    });
  });

  afterAll(async () => {
    await gw?.close();
    broker?.kill("SIGTERM");
    if (broker) await new Promise((resolve) => broker?.once("exit", resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  itWithTool(
    "mosquitto",
    locateMosquitto,
    "publishes events and retained ON/OFF states over MQTT 5, with the Last Will",
    async () => {
      const subscriber = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: 5,
        clientId: "mqtt5-test",
      });
      const messages: { topic: string; payload: string }[] = [];
      subscriber.on("message", (topic, payload) => messages.push({ topic, payload: payload.toString() }));
      try {
        await new Promise<void>((resolve) => subscriber.once("connect", () => resolve()));
        await subscriber.subscribeAsync("cg/#", { qos: 1 });
        await waitFor(
          () => messages.find((m) => m.topic === "cg/available" && m.payload === "online"),
          10_000,
          "availability",
        );
        await waitFor(
          () => (gw?.camgate.events.sources.streams.get("front")?.current === "live" ? true : undefined),
          10_000,
          "the event stream",
        );
        const control = gw?.cameras.get("front")?.control;
        control?.trigger("VideoMotion", "Start");
        await waitFor(
          () => messages.find((m) => m.topic === "cg/front/VideoMotion" && m.payload === "ON"),
          10_000,
          "ON",
        );
        const event = await waitFor(
          () => messages.find((m) => m.topic === "cg/front/event"),
          10_000,
          "the event",
        );
        expect(JSON.parse(event.payload)).toMatchObject({
          camera: "front",
          code: "VideoMotion",
          action: "start",
          data: { EventID: expect.any(Number) },
        });
        control?.trigger("VideoMotion", "Stop");
        await waitFor(
          () => messages.find((m) => m.topic === "cg/front/VideoMotion" && m.payload === "OFF"),
          10_000,
          "OFF",
        );
      } finally {
        await subscriber.endAsync();
      }
    },
  );
});
