import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { type DiscoveryConfig, discoveryProblems } from "../helpers/ha-discovery.ts";
import { waitFor } from "../helpers/http.ts";
import { locateMosquitto, startMosquitto, type TestMosquitto } from "../helpers/mosquitto.ts";
import { itWithTool } from "../helpers/system-tools.ts";

describe("MQTT 5 with mosquitto", () => {
  let broker: TestMosquitto | undefined;
  let port = 0;
  let gw: TestGateway | undefined;

  beforeAll(async () => {
    if (!locateMosquitto()) return;
    broker = await startMosquitto();
    port = broker.port;
    gw = await startTestGateway({
      cameras: [{ id: "front", profile: "dahua-2024" }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
      mqtt: { url: `mqtt://127.0.0.1:${port}`, prefix: "cg" },
    });
  });

  afterAll(async () => {
    await gw?.close();
    await broker?.stop();
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

  itWithTool(
    "mosquitto",
    locateMosquitto,
    "Home Assistant discovery HA accepts, availability from real health, Frigate PTZ words, stale configs cleared",
    async () => {
      const ha = await startTestGateway({
        cameras: [
          { id: "front", profile: "amcrest-ip2m-841b" },
          { id: "garage", profile: "dahua-2024", config: { password: "not-the-password" } },
        ],
        mqtt: { url: `mqtt://127.0.0.1:${port}`, prefix: "ha", clientId: "camgate-ha" },
      });
      const subscriber = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: 5,
        clientId: "ha-test",
      });
      const messages: { topic: string; payload: string }[] = [];
      subscriber.on("message", (topic, payload) => messages.push({ topic, payload: payload.toString() }));
      const latest = (topic: string) => messages.filter((m) => m.topic === topic).at(-1)?.payload;
      const results = () =>
        messages
          .filter((m) => m.topic === "ha/front/ptz/result")
          .map((m) => JSON.parse(m.payload) as Record<string, unknown>);
      try {
        await new Promise<void>((resolve) => subscriber.once("connect", () => resolve()));
        await subscriber.subscribeAsync(["homeassistant/#", "ha/#"], { qos: 1 });
        await waitFor(() => latest("ha/garage/status") === "offline" || undefined, 15_000, "garage offline");
        await waitFor(() => latest("ha/front/status") === "online" || undefined, 15_000, "front online");
        await waitFor(
          () => latest("homeassistant/camera/camgate_garage/snapshot/config") || undefined,
          15_000,
          "the garage's discovery",
        );
        const configs = (): DiscoveryConfig[] => {
          const byTopic = new Map<string, string>();
          for (const m of messages) if (m.topic.startsWith("homeassistant/")) byTopic.set(m.topic, m.payload);
          return [...byTopic]
            .filter(([, payload]) => payload !== "")
            .map(([topic, payload]) => ({ topic, payload: JSON.parse(payload) as Record<string, unknown> }));
        };
        const mine = configs().filter((c) => c.topic.includes("camgate_"));
        expect(discoveryProblems(mine)).toEqual([]);
        const motion = mine.find(
          (c) => c.topic === "homeassistant/binary_sensor/camgate_front/videomotion/config",
        );
        expect(motion?.payload).toMatchObject({
          name: "Motion",
          device_class: "motion",
          device: { via_device: "camgate_bridge_camgate-ha" },
          origin: { name: "camgate" },
        });
        expect(
          mine.some((c) => c.topic === "homeassistant/binary_sensor/camgate_bridge_camgate-ha/status/config"),
        ).toBe(true);

        // Frigate's words: MOVE_RIGHT turns until STOP; each command is answered on the result topic.
        const control = ha.cameras.get("front")?.control;
        await subscriber.publishAsync("ha/front/ptz/set", "MOVE_RIGHT", { qos: 1 });
        await waitFor(() => control?.ptzMotion().panning || undefined, 10_000, "the pan to start");
        await subscriber.publishAsync("ha/front/ptz/set", "STOP", { qos: 1 });
        await waitFor(() => (control?.ptzMotion().panning ? undefined : true), 10_000, "the pan to stop");
        await subscriber.publishAsync("ha/front/ptz/set", "DANCE", { qos: 1 });
        await waitFor(() => (results().length >= 3 ? true : undefined), 10_000, "three results");
        expect(results().slice(0, 3)).toEqual([
          { command: "MOVE_RIGHT", ok: true },
          { command: "STOP", ok: true },
          { command: "DANCE", ok: false, error: expect.stringContaining("unknown PTZ command") },
        ]);
        const set = await fetch(`${ha.url}/api/v1/cameras/front/ptz`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ action: "setPreset", preset: 3, name: "Gate" }),
        });
        expect(set.status).toBeLessThan(300);
        await subscriber.publishAsync("ha/front/ptz/set", "preset_Gate", { qos: 1 });
        await subscriber.publishAsync("ha/front/ptz/set", "preset_Nowhere", { qos: 1 });
        await waitFor(() => (results().length >= 5 ? true : undefined), 10_000, "the preset results");
        expect(results().slice(3)).toEqual([
          { command: "preset_Gate", ok: true },
          { command: "preset_Nowhere", ok: false, error: expect.stringContaining("no preset named") },
        ]);

        // A camera removed from the config: its retained configs are cleared, so HA drops its entities.
        await ha.camgate.reload({
          ...ha.config,
          cameras: ha.config.cameras.filter((c) => c.id !== "garage"),
        });
        await waitFor(
          () => latest("homeassistant/camera/camgate_garage/snapshot/config") === "" || undefined,
          10_000,
          "the garage's configs cleared",
        );
        const fresh = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, clientId: "ha-fresh" });
        const retained: string[] = [];
        fresh.on("message", (topic, payload) => {
          if (payload.length > 0) retained.push(topic);
        });
        try {
          await new Promise<void>((resolve) => fresh.once("connect", () => resolve()));
          await fresh.subscribeAsync("homeassistant/#", { qos: 1 });
          await waitFor(
            () => retained.find((t) => t.includes("camgate_front/snapshot")),
            10_000,
            "the retained configs",
          );
          expect(retained.filter((t) => t.includes("camgate_garage"))).toEqual([]);
        } finally {
          await fresh.endAsync();
        }
      } finally {
        await subscriber.endAsync();
        await ha.close();
      }
    },
  );

  itWithTool(
    "mosquitto",
    locateMosquitto,
    "the security audit's problem sensor: discovered as a diagnostic problem sensor, ON for a camera with findings",
    async () => {
      const gateway = await startTestGateway({
        // The factory state of the IP2M-841B: P2P and UPnP on (high findings), its 2017 firmware.
        cameras: [{ id: "porch", profile: "amcrest-ip2m-841b" }],
        mqtt: { url: `mqtt://127.0.0.1:${port}`, prefix: "sec", clientId: "camgate-sec" },
        // No TCP probes of this machine's own ports.
        audit: { enabled: true, probePorts: false },
      });
      const subscriber = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: 5,
        clientId: "sec-test",
      });
      const messages: { topic: string; payload: string }[] = [];
      subscriber.on("message", (topic, payload) => messages.push({ topic, payload: payload.toString() }));
      const latest = (topic: string) => messages.filter((m) => m.topic === topic).at(-1)?.payload;
      try {
        await new Promise<void>((resolve) => subscriber.once("connect", () => resolve()));
        await subscriber.subscribeAsync(["homeassistant/#", "sec/#"], { qos: 1 });
        const config = await waitFor(
          () => latest("homeassistant/binary_sensor/camgate_porch/securityproblem/config") || undefined,
          15_000,
          "the security problem sensor's discovery",
        );
        expect(JSON.parse(config)).toMatchObject({
          name: "Security problem",
          device_class: "problem",
          entity_category: "diagnostic",
          state_topic: "sec/porch/SecurityProblem",
        });
        await waitFor(() => latest("sec/porch/SecurityProblem") === "ON" || undefined, 20_000, "ON");
      } finally {
        await subscriber.endAsync();
        await gateway.close();
      }
    },
  );

  itWithTool(
    "mosquitto",
    locateMosquitto,
    "a doorbell press reaches HA's doorbell event entity; a person with a box its alert event and Person sensor",
    async () => {
      const gateway = await startTestGateway({
        cameras: [{ id: "door", profile: "amcrest-ad410", config: { name: "Front door" } }],
        events: { enabled: true, heartbeatSeconds: 1 },
        mqtt: { url: `mqtt://127.0.0.1:${port}`, prefix: "bell", clientId: "camgate-bell" },
      });
      const subscriber = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: 5,
        clientId: "bell-test",
      });
      const messages: { topic: string; payload: Buffer }[] = [];
      subscriber.on("message", (topic, payload) => messages.push({ topic, payload }));
      const on = (topic: string) => messages.filter((m) => m.topic === topic);
      try {
        await new Promise<void>((resolve) => subscriber.once("connect", () => resolve()));
        await subscriber.subscribeAsync(["homeassistant/+/camgate_door/#", "bell/#"], { qos: 1 });
        const doorbell = await waitFor(
          () => on("homeassistant/event/camgate_door/doorbell/config")[0],
          15_000,
          "the doorbell entity's discovery",
        );
        expect(JSON.parse(doorbell.payload.toString())).toMatchObject({
          name: "Doorbell",
          device_class: "doorbell",
          event_types: ["press"],
          state_topic: "bell/door/doorbell",
        });
        const configs = messages
          .filter((m) => m.topic.startsWith("homeassistant/") && m.payload.length > 0)
          .map((m) => ({
            topic: m.topic,
            payload: JSON.parse(m.payload.toString()) as Record<string, unknown>,
          }));
        expect(configs.map((c) => c.topic)).toEqual(
          expect.arrayContaining([
            "homeassistant/image/camgate_door/last_event/config",
            "homeassistant/event/camgate_door/alert/config",
          ]),
        );
        // The bridge device is announced on its own topic: only the camera's own configs are judged here.
        expect(discoveryProblems(configs).filter((p) => !p.includes("via_device"))).toEqual([]);

        await waitFor(
          () => (gateway.camgate.events.sources.streams.get("door")?.current === "live" ? true : undefined),
          10_000,
          "the event stream",
        );
        const control = gateway.cameras.get("door")?.control;
        expect(control?.pressDoorbell()).toBe(true);
        const press = await waitFor(() => on("bell/door/doorbell")[0], 15_000, "the press");
        expect(JSON.parse(press.payload.toString())).toMatchObject({ event_type: "press", camera: "door" });
        const picture = await waitFor(() => on("bell/door/snapshot")[0], 15_000, "the press's picture");
        expect(picture.payload.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

        control?.trigger("SmartMotionHuman", "Start");
        const person = await waitFor(
          () =>
            on("bell/door/alert")
              .map(
                (m) =>
                  JSON.parse(m.payload.toString()) as { event_type: string; objects?: { box?: unknown }[] },
              )
              .find((a) => a.event_type === "person"),
          15_000,
          "the person alert",
        );
        expect(person.objects?.[0]?.box).toMatchObject({ x: expect.any(Number), width: expect.any(Number) });
        await waitFor(
          () => (on("bell/door/SmartMotionHuman").at(-1)?.payload.toString() === "ON" ? true : undefined),
          15_000,
          "Person ON",
        );
        control?.trigger("SmartMotionHuman", "Stop");
        await waitFor(
          () => (on("bell/door/SmartMotionHuman").at(-1)?.payload.toString() === "OFF" ? true : undefined),
          15_000,
          "Person OFF",
        );
      } finally {
        await subscriber.endAsync();
        await gateway.close();
      }
    },
  );
});
