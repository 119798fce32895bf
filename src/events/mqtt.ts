/**
 * MQTT out (mqtt.js): `<prefix>/available` online/offline with a Last Will; `<prefix>/<camera>/status`
 * online/offline (retained); `<prefix>/<camera>/event` (the event JSON); `<prefix>/<camera>/<code>` ON/OFF
 * (retained) for state-like codes; `<prefix>/<camera>/snapshot` (JPEG bytes) for events with a snapshot;
 * commands on `<prefix>/<camera>/ptz/set`; Home Assistant discovery under `homeassistant/`. Events go out
 * through the durable outbox (target `mqtt`) with QoS 1, so what happens while the broker is away is
 * delivered after it is back, in order.
 */
import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import type { PtzDirection } from "../camera/api.ts";
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
  log: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;
}

const PTZ_WORDS = ["up", "down", "left", "right", "leftup", "rightup", "leftdown", "rightdown"];

export class MqttBridge {
  private client: MqttClient | undefined;
  private readonly worker: DeliveryWorker;
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
    client.on("connect", () => {
      this.options.log("info", "MQTT connected", { url: this.options.url });
      void this.announce().catch((error: unknown) =>
        this.options.log("warn", "MQTT announce failed", { err: String(error) }),
      );
      this.worker.poke();
    });
    client.on("error", (error) => this.options.log("warn", "MQTT error", { err: error.message }));
    client.on("message", (topic, payload) => void this.command(topic, payload.toString("utf8")));
    client.subscribe(`${prefix}/+/ptz/set`, { qos: 1 });
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
    this.worker.stop();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await client
        .publishAsync(`${this.options.prefix}/available`, "offline", { qos: 1, retain: true })
        .catch(() => undefined);
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
    if (event.snapshot) {
      const jpeg = readFileSync(this.options.store.snapshotPath(event.id));
      await client.publishAsync(`${base}/snapshot`, jpeg, { qos: 1, retain: true });
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
      const info = await this.options.cameras.deviceInfo(entry.id).catch(() => undefined);
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
      const presets = await entry.api.ptzPresets().catch(() => []);
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
    const entry = this.options.cameras.get(camera);
    try {
      const body = await entry?.api.cgi("/cgi-bin/eventManager.cgi?action=getExposureEvents", "background");
      const codes = new Set(
        (body ?? "")
          .split(/\r?\n/)
          .map((line) => line.split("=")[1]?.trim())
          .filter(Boolean),
      );
      const supported = STATE_CODES.filter((code) => codes.has(code));
      if (supported.length > 0) return supported;
    } catch {
      // Older firmware lacks getExposureEvents: fall back to the codes every camera has.
    }
    return ["VideoMotion", "VideoBlind", "VideoLoss"];
  }

  /** `<prefix>/<camera>/ptz/set`: `left`, `stop`, `preset 2`, or JSON {"direction":"left","durationMs":500}. */
  private async command(topic: string, payload: string): Promise<void> {
    const match = new RegExp(
      `^${this.options.prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/([^/]+)/ptz/set$`,
    ).exec(topic);
    const entry = match ? this.options.cameras.get(match[1] as string) : undefined;
    if (!entry) return;
    try {
      let direction: string | undefined;
      let preset: number | undefined;
      let durationMs = 500;
      if (payload.trim().startsWith("{")) {
        const command = JSON.parse(payload) as { direction?: string; preset?: number; durationMs?: number };
        direction = command.direction;
        preset = command.preset;
        durationMs = command.durationMs ?? durationMs;
      } else {
        const [word, arg] = payload.trim().toLowerCase().split(/\s+/);
        if (word === "preset") preset = Number(arg);
        else direction = word;
      }
      if (preset !== undefined && Number.isInteger(preset))
        return void (await entry.api.ptzGotoPreset(preset));
      if (direction === "stop") return void (await entry.api.ptzStop());
      if (direction && PTZ_WORDS.includes(direction)) {
        await entry.api.ptzMove(direction as PtzDirection);
        const stop = setTimeout(
          () => void entry.api.ptzStop(direction as PtzDirection).catch(() => undefined),
          Math.min(Math.max(durationMs, 50), 10_000),
        );
        stop.unref();
      }
    } catch (error) {
      this.options.log("warn", "MQTT PTZ command failed", { topic, err: String(error) });
    }
  }
}
