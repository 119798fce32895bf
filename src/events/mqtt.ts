/**
 * MQTT out (mqtt.js): `<prefix>/available` online/offline with a Last Will; `<prefix>/<camera>/status`
 * online/offline (retained); `<prefix>/<camera>/event` (the event JSON); `<prefix>/<camera>/<code>` ON/OFF
 * (retained) for state-like codes; `<prefix>/<camera>/snapshot` (JPEG bytes) for events with a snapshot;
 * commands on `<prefix>/<camera>/ptz/set`; Home Assistant discovery under `homeassistant/`. Events go out
 * through the durable outbox (target `mqtt`) with QoS 1, so what happens while the broker is away is
 * delivered after it is back, in order.
 */
import { readFile } from "node:fs/promises";
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { CameraError } from "../camera/errors.ts";
import { type PtzCommand, parsePtzCommand, parsePtzWords } from "../camera/ptz.ts";
import type { CameraRegistry } from "../camera/registry.ts";
import { DeliveryWorker } from "./delivery-worker.ts";
import type { CamgateEvent } from "./model.ts";
import type { Outbox } from "./outbox.ts";
import type { EventStore } from "./store.ts";

export const MQTT_TARGET = "mqtt";

/** Codes published as retained ON/OFF binary sensors. */
export const STATE_CODES = [
  "VideoMotion",
  "VideoBlind",
  "VideoLoss",
  "AlarmLocal",
  "CrossLineDetection",
  "CrossRegionDetection",
  "SmartMotionHuman",
  "SmartMotionVehicle",
  "AudioMutation",
  "AudioAnomaly",
];

const DEVICE_CLASS: Record<string, string> = {
  VideoMotion: "motion",
  SmartMotionHuman: "occupancy",
  SmartMotionVehicle: "motion",
  CrossLineDetection: "motion",
  CrossRegionDetection: "motion",
  VideoBlind: "tamper",
  VideoLoss: "problem",
  AlarmLocal: "safety",
  AudioMutation: "sound",
  AudioAnomaly: "sound",
};

export interface MqttBridgeOptions {
  url: string;
  username?: string;
  password?: string;
  prefix: string;
  homeAssistant: boolean;
  discoveryPrefix: string;
  protocolVersion: 4 | 5;
  clientId: string;
  cameras: CameraRegistry;
  outbox: Outbox;
  store: EventStore;
  logger: Logger;
}

/** How long a move or zoom sent as a bare word lasts. */
const DEFAULT_MOVE_MS = 500;

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class MqttBridge {
  private client: MqttClient | undefined;
  private readonly worker: DeliveryWorker;
  private readonly unsubscribes: (() => void)[] = [];
  published = 0;

  constructor(private readonly options: MqttBridgeOptions) {
    this.worker = new DeliveryWorker(
      MQTT_TARGET,
      options.outbox,
      options.store,
      (event) => this.sendEvent(event),
      () => this.client?.connected === true,
    );
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  get deliveries(): DeliveryWorker {
    return this.worker;
  }

  start(): void {
    const { prefix } = this.options;
    const client = mqtt.connect(this.options.url, {
      clientId: this.options.clientId,
      protocolVersion: this.options.protocolVersion,
      ...(this.options.username !== undefined ? { username: this.options.username } : {}),
      ...(this.options.password !== undefined ? { password: this.options.password } : {}),
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      will: { topic: `${prefix}/available`, payload: Buffer.from("offline"), qos: 1, retain: true },
    });
    this.client = client;
    const log = this.options.logger;
    client.on("connect", () => {
      log.info({ url: this.options.url }, "MQTT connected");
      void this.announce().catch((error: unknown) =>
        log.warn({ err: errorText(error) }, "MQTT announce failed"),
      );
      this.worker.poke();
    });
    client.on("error", (error) => log.warn({ err: error.message }, "MQTT error"));
    client.on("message", (topic, payload) => void this.command(topic, payload.toString("utf8")));
    client.subscribe(`${prefix}/+/ptz/set`, { qos: 1 });
    for (const entry of this.options.cameras.list()) {
      this.unsubscribes.push(
        entry.session.onHealthChange((health) => {
          if (health.state === "online" || health.state === "offline")
            this.cameraStatus(entry.id, health.state === "online");
        }),
      );
    }
    this.worker.start();
  }

  /** Publishes a camera's connectivity (retained). */
  cameraStatus(camera: string, online: boolean): void {
    this.client?.publish(`${this.options.prefix}/${camera}/status`, online ? "online" : "offline", {
      qos: 1,
      retain: true,
    });
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    this.worker.stop();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      // The Last Will says the same if this does not get through.
      await client
        .publishAsync(`${this.options.prefix}/available`, "offline", { qos: 1, retain: true })
        .catch((error: unknown) =>
          this.options.logger.warn({ err: errorText(error) }, "MQTT: publishing offline at shutdown failed"),
        );
    }
    await client.endAsync();
  }

  private async sendEvent(event: CamgateEvent): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error("MQTT broker not connected");
    const base = `${this.options.prefix}/${event.camera}`;
    await client.publishAsync(`${base}/event`, JSON.stringify(event), { qos: 1 });
    if ((event.action === "start" || event.action === "stop") && event.source !== "gateway") {
      await client.publishAsync(`${base}/${event.code}`, event.action === "start" ? "ON" : "OFF", {
        qos: 1,
        retain: true,
      });
    }
    const snapshot = event.snapshot ? this.options.store.snapshotPath(event.id) : undefined;
    if (snapshot) {
      await client.publishAsync(`${base}/snapshot`, await readFile(snapshot), { qos: 1, retain: true });
    }
    this.published++;
  }

  /** Availability, camera statuses and Home Assistant discovery (retained, on every connect). */
  private async announce(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const { prefix, discoveryPrefix } = this.options;
    await client.publishAsync(`${prefix}/available`, "online", { qos: 1, retain: true });
    for (const entry of this.options.cameras.list()) {
      const state = entry.session.getHealth().state;
      if (state !== "unknown") this.cameraStatus(entry.id, state !== "offline");
      if (!this.options.homeAssistant) continue;
      const info = await this.options.cameras.deviceInfo(entry.id).catch((error: unknown) => {
        this.options.logger.warn(
          { camera: entry.id, err: errorText(error) },
          "MQTT discovery without the camera's model and firmware (device info failed)",
        );
        return undefined;
      });
      const device = {
        identifiers: [`camgate_${entry.id}`],
        name: entry.name,
        manufacturer: info?.vendor ?? "Amcrest/Dahua",
        model: info?.type ?? "IP camera",
        ...(info?.softwareVersion ? { sw_version: info.softwareVersion } : {}),
        via_device: "camgate",
      };
      const availability = [
        { topic: `${prefix}/available` },
        {
          topic: `${prefix}/${entry.id}/status`,
          payload_available: "online",
          payload_not_available: "offline",
        },
      ];
      const config = (component: string, objectId: string, payload: Record<string, unknown>) =>
        client.publishAsync(
          `${discoveryPrefix}/${component}/camgate_${entry.id}/${objectId}/config`,
          JSON.stringify({ ...payload, device }),
          { qos: 1, retain: true },
        );
      await config("binary_sensor", "status", {
        name: "Connectivity",
        unique_id: `camgate_${entry.id}_status`,
        state_topic: `${prefix}/${entry.id}/status`,
        payload_on: "online",
        payload_off: "offline",
        device_class: "connectivity",
        availability: [{ topic: `${prefix}/available` }],
      });
      for (const code of await this.supportedCodes(entry.id)) {
        await config("binary_sensor", code.toLowerCase(), {
          name: code,
          unique_id: `camgate_${entry.id}_${code.toLowerCase()}`,
          state_topic: `${prefix}/${entry.id}/${code}`,
          payload_on: "ON",
          payload_off: "OFF",
          ...(DEVICE_CLASS[code] ? { device_class: DEVICE_CLASS[code] } : {}),
          availability,
          availability_mode: "all",
        });
      }
      await config("camera", "snapshot", {
        name: "Snapshot",
        unique_id: `camgate_${entry.id}_snapshot`,
        topic: `${prefix}/${entry.id}/snapshot`,
        availability,
        availability_mode: "all",
      });
      const presets = await entry.ptz.presets().catch((error: unknown) => {
        // A camera without PTZ answers unsupported: it has no presets to offer.
        if (!(error instanceof CameraError && error.code === "unsupported"))
          this.options.logger.warn(
            { camera: entry.id, err: errorText(error) },
            "MQTT discovery without preset buttons (reading the presets failed)",
          );
        return [];
      });
      for (const preset of presets) {
        await config("button", `preset_${preset.index}`, {
          name: `Preset ${preset.name || preset.index}`,
          unique_id: `camgate_${entry.id}_preset_${preset.index}`,
          command_topic: `${prefix}/${entry.id}/ptz/set`,
          payload_press: `preset ${preset.index}`,
          availability,
          availability_mode: "all",
        });
      }
    }
  }

  /** The state codes this camera reports (getExposureEvents), or the common ones when it cannot say. */
  private async supportedCodes(camera: string): Promise<string[]> {
    const fallback = ["VideoMotion", "VideoBlind", "VideoLoss"];
    const entry = this.options.cameras.get(camera);
    if (!entry) return fallback;
    try {
      const codes = new Set(await entry.api.exposureEvents());
      const supported = STATE_CODES.filter((code) => codes.has(code));
      return supported.length > 0 ? supported : fallback;
    } catch (error) {
      // Older firmware lacks getExposureEvents: the codes every camera has.
      if (!(error instanceof CameraError && error.code === "unsupported"))
        this.options.logger.warn(
          { camera, err: errorText(error) },
          "MQTT discovery: getExposureEvents failed",
        );
      return fallback;
    }
  }

  /**
   * `<prefix>/<camera>/ptz/set`: words (`left`, `zoomin`, `stop`, `preset 2`), or a JSON command as the REST
   * API takes it (`{"action":"move","direction":"left","durationMs":500}`). Moves sent as words last 500 ms.
   * The earlier JSON form without `action` (`{"direction":"left"}`, `{"preset":2}`) is still understood.
   */
  private async command(topic: string, payload: string): Promise<void> {
    const match = new RegExp(
      `^${this.options.prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/([^/]+)/ptz/set$`,
    ).exec(topic);
    const camera = match?.[1] as string;
    const entry = this.options.cameras.get(camera);
    if (!entry) {
      this.options.logger.warn({ topic }, "MQTT PTZ command for a camera camgate does not have");
      return;
    }
    try {
      const text = payload.trim();
      const command: PtzCommand = text.startsWith("{")
        ? parsePtzCommand(withAction(JSON.parse(text) as unknown))
        : parsePtzWords(text, { durationMs: DEFAULT_MOVE_MS });
      await entry.ptz.run(command);
    } catch (error) {
      this.options.logger.warn({ camera, topic, err: errorText(error) }, "MQTT PTZ command failed");
    }
  }
}

/** `{"direction":"left","durationMs":500}` and `{"preset":2}` (camgate 0.1's MQTT form) as full commands. */
function withAction(input: unknown): unknown {
  if (input === null || typeof input !== "object" || Array.isArray(input) || "action" in input) return input;
  const fields = input as Record<string, unknown>;
  if (fields.preset !== undefined) return { action: "gotoPreset", ...fields };
  if (fields.direction === "stop") return { action: "stop", ...fields, direction: undefined };
  const action = fields.direction === "in" || fields.direction === "out" ? "zoom" : "move";
  return { action, durationMs: DEFAULT_MOVE_MS, ...fields };
}
