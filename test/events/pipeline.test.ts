/** Camera events to SSE, signed webhooks and MQTT (embedded broker), stored first, with snapshots. */
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, httpGet, waitFor } from "../helpers/http.ts";
import { SseClient } from "../helpers/sse.ts";
import { WebhookReceiver } from "../helpers/webhook-receiver.ts";

const SECRET = "webhook-secret-1";

describe("event pipeline", () => {
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  let sse: SseClient;
  let subscriber: mqtt.MqttClient;
  const mqttMessages: { topic: string; payload: string; retain: boolean }[] = [];

  beforeAll(async () => {
    receiver = new WebhookReceiver(SECRET);
    await receiver.start();
    const brokerPort = await freePort();
    gw = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
      events: { enabled: true, heartbeatSeconds: 1 },
      webhooks: [
        { name: "hook", url: receiver.url, secret: SECRET, codes: ["VideoMotion", "CrossLineDetection"] },
      ],
      mqtt: { embedded: true, embeddedListen: `127.0.0.1:${brokerPort}` },
    });
    await waitFor(
      () => (gw.cameras.get("dogs")?.control.eventSubscribers() === 1 ? true : undefined),
      10_000,
      "the event stream",
    );
    subscriber = mqtt.connect(`mqtt://127.0.0.1:${brokerPort}`, {
      protocolVersion: 4,
      clientId: "test-subscriber",
    });
    subscriber.on("message", (topic, payload, packet) =>
      mqttMessages.push({ topic, payload: payload.toString(), retain: packet.retain }),
    );
    await new Promise<void>((resolve) => subscriber.once("connect", () => resolve()));
    await subscriber.subscribeAsync(["camgate/#", "homeassistant/#"], { qos: 1 });
    sse = new SseClient(`${gw.url}/api/v1/events/stream`);
    expect(await sse.open()).toBe(200);
  });

  afterAll(async () => {
    sse?.close();
    await subscriber?.endAsync();
    await gw?.close();
    await receiver?.stop();
  });

  it("an event on the camera reaches SSE, a signed webhook and MQTT; the retained state flips back to OFF on stop", async () => {
    const control = gw.cameras.get("dogs")?.control;
    control?.trigger("VideoMotion", "Start");
    const [start] = await sse.waitFor(
      (m) => m.some((x) => x.data.code === "VideoMotion"),
      10_000,
      "VideoMotion on SSE",
    );
    expect(start?.data).toMatchObject({
      camera: "dogs",
      source: "camera",
      code: "VideoMotion",
      action: "start",
      snapshot: true,
    });
    expect(start?.id).toBe(start?.data.id);
    const delivery = await waitFor(
      () => receiver.received.find((d) => d.body.code === "VideoMotion"),
      10_000,
      "the webhook",
    );
    expect(delivery.signatureValid).toBe(true);
    expect(delivery.legacySignatureValid).toBe(true);
    expect(delivery.event).toBe("VideoMotion");
    expect(delivery.id).toBe(`${delivery.body.id}.webhook:hook`);
    await waitFor(
      () => mqttMessages.find((m) => m.topic === "camgate/dogs/VideoMotion" && m.payload === "ON"),
      10_000,
      "MQTT ON",
    );
    const event = await waitFor(
      () => mqttMessages.find((m) => m.topic === "camgate/dogs/event"),
      10_000,
      "MQTT event",
    );
    expect(JSON.parse(event.payload)).toMatchObject({ code: "VideoMotion", action: "start" });
    await waitFor(
      () => mqttMessages.find((m) => m.topic === "camgate/dogs/snapshot"),
      10_000,
      "MQTT snapshot",
    );
    control?.trigger("VideoMotion", "Stop");
    await waitFor(
      () => mqttMessages.find((m) => m.topic === "camgate/dogs/VideoMotion" && m.payload === "OFF"),
      10_000,
      "MQTT OFF",
    );
    // A new subscriber sees the retained state: OFF.
    const late = mqtt.connect(
      `mqtt://127.0.0.1:${new URL(gw.camgate.events.deliveries.broker?.url ?? "").port}`,
      {
        protocolVersion: 4,
        clientId: "late",
      },
    );
    try {
      const retained = await new Promise<string>((resolve) => {
        late.on("message", (_topic, payload) => resolve(payload.toString()));
        late.subscribe("camgate/dogs/VideoMotion");
      });
      expect(retained).toBe("OFF");
    } finally {
      await late.endAsync();
    }
  });

  it("stores events first: REST lists them, with the snapshot taken on start", async () => {
    const list = JSON.parse((await httpGet(`${gw.url}/api/v1/events?camera=dogs&code=VideoMotion`)).text);
    expect(list.events.map((e: { action: string }) => e.action)).toEqual(["stop", "start"]);
    const start = list.events[1];
    const one = JSON.parse((await httpGet(`${gw.url}/api/v1/events/${start.id}`)).text);
    expect(one).toEqual(start);
    const jpeg = await httpGet(`${gw.url}/api/v1/events/${start.id}/snapshot.jpg`);
    expect(jpeg.headers["content-type"]).toBe("image/jpeg");
    expect(jpeg.body.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect((await httpGet(`${gw.url}/api/v1/events/${list.events[0].id}/snapshot.jpg`)).status).toBe(404);
  });

  it("passes data through (CrossLineDetection), filters webhooks by code, and does not repeat duplicate starts or chatter", async () => {
    const control = gw.cameras.get("dogs")?.control;
    control?.trigger("CrossLineDetection", "Pulse");
    control?.trigger("VideoBlind", "Start");
    control?.trigger("VideoBlind", "Start");
    control?.trigger("VideoMotionInfo", "State");
    control?.trigger("VideoBlind", "Stop");
    await sse.waitFor(
      (m) => m.some((x) => x.data.code === "VideoBlind" && x.data.action === "stop"),
      10_000,
      "VideoBlind stop",
    );
    const blind = sse.messages.filter((m) => m.data.code === "VideoBlind").map((m) => m.data.action);
    expect(blind).toEqual(["start", "stop"]);
    expect(sse.messages.some((m) => m.data.code === "VideoMotionInfo")).toBe(false);
    const line = sse.messages.find((m) => m.data.code === "CrossLineDetection");
    expect(line?.data).toMatchObject({ action: "pulse", data: { Name: "Rule1", Direction: "LeftToRight" } });
    // The smart details, typed, beside the raw data: on SSE, the webhook and MQTT alike.
    const smart = {
      rule: "Rule1",
      direction: "left-to-right",
      objects: [
        {
          type: "human",
          cameraType: "Human",
          id: 7,
          box: { x: 0.25, y: 0.125, width: 0.25, height: 0.625 },
          center: { x: 0.375, y: 0.4375 },
          action: "Appear",
        },
      ],
    };
    expect(line?.data).toMatchObject(smart);
    const hook = await waitFor(
      () => receiver.received.find((d) => d.body.code === "CrossLineDetection"),
      10_000,
      "the CrossLine webhook",
    );
    expect(hook.body).toMatchObject(smart);
    const mqttLine = await waitFor(
      () =>
        mqttMessages.find(
          (m) => m.topic === "camgate/dogs/event" && m.payload.includes("CrossLineDetection"),
        ),
      10_000,
      "the CrossLine event on MQTT",
    );
    expect(JSON.parse(mqttLine.payload)).toMatchObject(smart);
    const listed = JSON.parse(
      (await httpGet(`${gw.url}/api/v1/events?camera=dogs&code=CrossLineDetection`)).text,
    );
    expect(listed.events[0]).toMatchObject(smart);
    expect(receiver.received.some((d) => d.body.code === "VideoBlind")).toBe(false);
  });

  it("replays what a client missed after Last-Event-ID", async () => {
    const first = sse.messages[0]?.id ?? "";
    const replay = new SseClient(`${gw.url}/api/v1/events/stream`, { "Last-Event-ID": first });
    try {
      await replay.open();
      const expected = sse.messages.slice(1).map((m) => m.id);
      const got = await replay.waitFor((m) => m.length >= expected.length, 10_000, "the replay");
      expect(got.map((m) => m.id)).toEqual(expected);
    } finally {
      replay.close();
    }
  });

  it("publishes Home Assistant discovery: binary sensors, connectivity, camera, and availability", async () => {
    await waitFor(
      () =>
        mqttMessages.find((m) => m.topic === "homeassistant/binary_sensor/camgate_dogs/videomotion/config"),
      10_000,
      "discovery",
    );
    const motion = JSON.parse(
      mqttMessages.find((m) => m.topic === "homeassistant/binary_sensor/camgate_dogs/videomotion/config")
        ?.payload ?? "{}",
    );
    expect(motion).toMatchObject({
      state_topic: "camgate/dogs/VideoMotion",
      payload_on: "ON",
      device_class: "motion",
      device: { identifiers: ["camgate_dogs"], model: "IP2M-841B" },
    });
    // One announce publishes them one after another: each is waited for, not assumed with the first.
    for (const topic of [
      "homeassistant/binary_sensor/camgate_dogs/status/config",
      "homeassistant/camera/camgate_dogs/snapshot/config",
    ])
      await waitFor(() => mqttMessages.find((m) => m.topic === topic), 10_000, topic);
    expect(mqttMessages.find((m) => m.topic === "camgate/available")?.payload).toBe("online");
  });

  it("moves PTZ from an MQTT command (the REST form, the earlier form, and words), and stops", async () => {
    const control = gw.cameras.get("dogs")?.control;
    const before = control?.ptzPosition().pan ?? 0;
    await subscriber.publishAsync(
      "camgate/dogs/ptz/set",
      JSON.stringify({ action: "move", direction: "right", durationMs: 300 }),
      { qos: 1 },
    );
    await waitFor(
      () => ((control?.ptzPosition().pan ?? 0) > before ? true : undefined),
      10_000,
      "the camera to pan",
    );
    await waitFor(() => (control?.ptzMotion().panning ? undefined : true), 10_000, "the timed stop");
    await subscriber.publishAsync(
      "camgate/dogs/ptz/set",
      JSON.stringify({ direction: "in", durationMs: 10_000 }),
      {
        qos: 1,
      },
    );
    await waitFor(() => (control?.ptzMotion().zooming ? true : undefined), 10_000, "the camera to zoom");
    await subscriber.publishAsync("camgate/dogs/ptz/set", "stop", { qos: 1 });
    await waitFor(() => (control?.ptzMotion().zooming ? undefined : true), 10_000, "the zoom to stop");
  });

  it("turns camera health into gateway events", async () => {
    const control = gw.cameras.get("dogs")?.control;
    await control?.stopListening();
    await waitFor(
      async () => {
        await httpGet(`${gw.url}/api/v1/cameras/dogs/time`);
        return sse.messages.some((m) => m.data.code === "CameraOffline") ? true : undefined;
      },
      15_000,
      "CameraOffline",
    );
    await control?.startListening();
    await waitFor(
      async () => {
        await httpGet(`${gw.url}/api/v1/cameras/dogs/time`);
        return sse.messages.some((m) => m.data.code === "CameraOnline") ? true : undefined;
      },
      15_000,
      "CameraOnline",
    );
    const offline = sse.messages.find((m) => m.data.code === "CameraOffline");
    expect(offline?.data.source).toBe("gateway");
    await waitFor(
      () => mqttMessages.find((m) => m.topic === "camgate/dogs/status" && m.payload === "offline"),
      10_000,
      "MQTT status offline",
    );
  });
});
