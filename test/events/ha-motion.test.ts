/**
 * Home Assistant and camgate's own detections, on mosquitto: a camera camgate watches for motion gets a
 * "Motion (camgate)" sensor and one per zone (retained ON/OFF apart from the camera's own VideoMotion),
 * and a rule of the camera's that saw a person gets a "Person in <rule>" sensor as soon as it is first seen
 * (discovery HA accepts), on at the start and off at the stop.
 */
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { type DiscoveryConfig, discoveryProblems } from "../helpers/ha-discovery.ts";
import { waitFor } from "../helpers/http.ts";
import { locateMosquitto, startMosquitto, type TestMosquitto } from "../helpers/mosquitto.ts";
import { DRIVEWAY, OSD } from "../helpers/motion-scenes.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const WALKER = { kind: "walker", periodMs: 600_000, walkMs: 8000, y: 0.55, size: 0.3 } as const;

describe("Home Assistant sensors for camgate's motion and the camera's rules", () => {
  let broker: TestMosquitto | undefined;
  let gw: TestGateway | undefined;

  beforeAll(async () => {
    if (!locateMosquitto()) return;
    broker = await startMosquitto();
    gw = await startTestGateway({
      cameras: [
        {
          id: "front",
          profile: "dahua-2024",
          // The sub-stream at the rate camgate looks at.
          emulator: { config: { "Encode[0].ExtraFormat[0].Video.FPS": 5 } },
          config: {
            motion: {
              enabled: true,
              masks: OSD.map((p) => p.map(([x, y]) => [x, y] as [number, number])),
              zones: [
                { name: "Driveway", points: DRIVEWAY.points.map(([x, y]) => [x, y] as [number, number]) },
              ],
            },
          },
        },
      ],
      events: { enabled: true, heartbeatSeconds: 1 },
      mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, prefix: "hm", clientId: "camgate-hm" },
    });
    gw.cameras.get("front")?.control.setScene([]);
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await broker?.stop();
  });

  itWithTool(
    "mosquitto",
    locateMosquitto,
    "zone and rule sensors, announced and switched",
    async () => {
      if (!gw || !broker) throw new Error("not started");
      const subscriber = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, {
        protocolVersion: 5,
        clientId: "hm-test",
      });
      const messages: { topic: string; payload: string }[] = [];
      subscriber.on("message", (topic, payload) => messages.push({ topic, payload: payload.toString() }));
      const latest = (topic: string) => messages.filter((m) => m.topic === topic).at(-1)?.payload;
      const configs = (): DiscoveryConfig[] => {
        const byTopic = new Map<string, string>();
        for (const m of messages) if (m.topic.startsWith("homeassistant/")) byTopic.set(m.topic, m.payload);
        return [...byTopic]
          .filter(([topic, payload]) => payload !== "" && topic.includes("camgate_"))
          .map(([topic, payload]) => ({ topic, payload: JSON.parse(payload) as Record<string, unknown> }));
      };
      const control = gw.cameras.get("front")?.control;
      try {
        await new Promise<void>((resolve) => subscriber.once("connect", () => resolve()));
        await subscriber.subscribeAsync(["homeassistant/#", "hm/#"], { qos: 1 });
        const zoneConfig = "homeassistant/binary_sensor/camgate_front/zone_driveway/config";
        await waitFor(() => latest(zoneConfig) || undefined, 15_000, "the zone's discovery");
        expect(JSON.parse(latest(zoneConfig) ?? "{}")).toMatchObject({
          name: "Motion in Driveway",
          state_topic: "hm/front/zone/driveway/motion",
          device_class: "motion",
        });
        expect(latest("homeassistant/binary_sensor/camgate_front/camgate_motion/config")).toBeDefined();
        expect(discoveryProblems(configs())).toEqual([]);

        // A figure in the driveway while the camera reports motion.
        await waitFor(
          () => (gw?.camgate.motion.status("front")?.state === "watching" ? true : undefined),
          20_000,
          "watching",
        );
        await waitFor(
          () => (gw?.camgate.events.sources.streams.get("front")?.current === "live" ? true : undefined),
          10_000,
          "events",
        );
        control?.setScene([WALKER]);
        control?.trigger("VideoMotion", "Start");
        await waitFor(
          () => (latest("hm/front/zone/driveway/motion") === "ON" ? true : undefined),
          20_000,
          "the zone ON",
        );
        expect(latest("hm/front/CamgateMotion")).toBe("ON");
        expect(latest("hm/front/VideoMotion")).toBe("ON");
        control?.trigger("VideoMotion", "Stop");
        await waitFor(
          () => (latest("hm/front/zone/driveway/motion") === "OFF" ? true : undefined),
          20_000,
          "the zone OFF",
        );
        expect(latest("hm/front/CamgateMotion")).toBe("OFF");
        expect(latest("hm/front/VideoMotion")).toBe("OFF");

        // A person in the camera's own region: its sensor is announced when first seen, then switched.
        const ruleConfig = "homeassistant/binary_sensor/camgate_front/rule_region1_person/config";
        expect(latest(ruleConfig)).toBeUndefined();
        control?.trigger("SmartMotionHuman", "Start");
        await waitFor(
          () => (latest("hm/front/rule/region1/person") === "ON" ? true : undefined),
          10_000,
          "the rule ON",
        );
        await waitFor(() => latest(ruleConfig) || undefined, 10_000, "the rule's discovery");
        expect(JSON.parse(latest(ruleConfig) ?? "{}")).toMatchObject({
          name: "Person in Region1",
          state_topic: "hm/front/rule/region1/person",
          device_class: "occupancy",
          off_delay: 10,
        });
        expect(discoveryProblems(configs())).toEqual([]);
        control?.trigger("SmartMotionHuman", "Stop");
        await waitFor(
          () => (latest("hm/front/rule/region1/person") === "OFF" ? true : undefined),
          10_000,
          "the rule OFF",
        );
      } finally {
        await subscriber.endAsync();
      }
    },
    90_000,
  );
});
