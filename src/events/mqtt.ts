/**
 * MQTT out (mqtt.js): `<prefix>/available` online/offline with a Last Will; `<prefix>/<camera>/status`
 * online/offline (retained); `<prefix>/<camera>/event` (the event JSON); `<prefix>/<camera>/<code>` ON/OFF
 * (retained) for state-like codes; `<prefix>/<camera>/snapshot` (JPEG bytes) for events with a snapshot;
 * commands on `<prefix>/<camera>/ptz/set`; Home Assistant discovery under `homeassistant/`. Events go out
 * through the durable outbox (target `mqtt`) with QoS 1, so what happens while the broker is away is
 * delivered after it is back, in order.
 */
import { readFile } from "node:fs/promises";
import type { MqttClient } from "mqtt";
import type { Logger } from "pino";
import { CameraError } from "../camera/errors.ts";
import type { CameraEntry, CameraRegistry, CameraSet } from "../camera/registry.ts";
import type { HealthState } from "../camera/session.ts";
import type { DiscoveryTopics } from "../storage/discovery-topics.ts";
import { errorText } from "../util/error-text.ts";
import { alertKindsOf, zonesOf } from "./alert-kinds.ts";
import { DeliveryWorker, type DeliveryWorkerOptions } from "./delivery-worker.ts";
import {
  bridgeDiscovery,
  CAMGATE_MOTION_STATE,
  cameraDiscovery,
  type DiscoveryMessage,
  type DiscoveryOptions,
  ruleTopic,
  STATE_CODES,
  zoneTopic,
} from "./ha-discovery.ts";
import type { CamgateEvent } from "./model.ts";
import { parseMqttPtz } from "./mqtt-ptz.ts";
import type { Outbox } from "./outbox.ts";
import type { EventStore } from "./store.ts";

export const MQTT_TARGET = "mqtt";

/** Gateway codes with a state (start/stop), published retained ON/OFF as camera codes are. */
const GATEWAY_STATE_CODES = ["SecurityProblem"];

export interface MqttBridgeOptions {
  url: string;
  username?: string;
  password?: string;
  prefix: string;
  homeAssistant: boolean;
  discoveryPrefix: string;
  /** Each Dahua camera gets a "Security problem" sensor (the audit's `SecurityProblem` state). */
  securitySensor?: boolean;
  protocolVersion: 4 | 5;
  clientId: string;
  /** The bridge device Home Assistant sees (default `clientId`): one for all instances of a cluster. */
  bridgeId?: string;
  cameras: CameraRegistry;
  /**
   * The cameras whose status and PTZ commands are this instance's (with several instances, the ones it
   * owns: their owner says their status and moves them, once); default all of them.
   */
  owned?: CameraSet;
  /** Several instances share the broker's `<prefix>/available`: one leaving must not mark the rest away. */
  clustered?: boolean;
  outbox: Outbox;
  store: EventStore;
  /** How its outbox worker claims and polls (several instances share the outbox). */
  worker?: DeliveryWorkerOptions;
  /** Where the published discovery topics are remembered (to clear the ones no longer published). */
  discoveryTopics: DiscoveryTopics;
  /** The zones of a camera camgate watches for motion (undefined: it does not). */
  motionZones?: (camera: string) => readonly string[] | undefined;
  logger: Logger;
}

/**
 * What a camera's health means to HA: usable (`online`; `busy` is a camera that answers but whose connections
 * camgate has all in use) or not (offline, refusing the password). Unknown (not tried yet) is not published.
 */
function availabilityOf(state: HealthState): "online" | "offline" | undefined {
  if (state === "online" || state === "busy") return "online";
  if (state === "offline" || state === "auth-failed") return "offline";
  return undefined;
}

/** The camera a discovery topic is about (`<prefix>/<component>/camgate_<id>/<object>/config`). */
function cameraOfTopic(topic: string): string | undefined {
  const node = topic.split("/").at(-3);
  return node?.startsWith("camgate_") ? node.slice("camgate_".length) : undefined;
}

export class MqttBridge {
  private client: MqttClient | undefined;
  private readonly worker: DeliveryWorker;
  private readonly unsubscribes: (() => void)[] = [];
  private announceTimer: NodeJS.Timeout | undefined;
  /** The rules (and kinds) of each camera announced to Home Assistant: a new one is announced when seen. */
  private readonly announcedRules = new Map<string, Set<string>>();
  published = 0;

  constructor(private readonly options: MqttBridgeOptions) {
    this.worker = new DeliveryWorker(
      MQTT_TARGET,
      options.outbox,
      options.store,
      (event) => this.sendEvent(event),
      () => this.client?.connected === true,
      // With several instances, a camera's events (and its retained ON/OFF state) go out from its owner
      // only, in order; a gateway's own events without a camera from any.
      options.clustered && options.worker && options.owned
        ? {
            ...options.worker,
            cameras: () => ["", ...(options.owned?.list().map((entry) => entry.id) ?? [])],
          }
        : options.worker,
    );
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  get deliveries(): DeliveryWorker {
    return this.worker;
  }

  /** Connects (mqtt.js is loaded here, when MQTT is configured: ~24 MB once loaded; issue 30). */
  async start(): Promise<void> {
    const { prefix } = this.options;
    const { default: mqtt } = await import("mqtt");
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
    client.on("message", (topic, payload) => {
      if (topic === `${prefix}/available`) {
        if (payload.toString("utf8") === "offline" && client.connected)
          client.publish(topic, "online", { qos: 1, retain: true });
        return;
      }
      void this.command(topic, payload.toString("utf8"));
    });
    client.subscribe(`${prefix}/+/ptz/set`, { qos: 1 });
    // Another instance's Last Will (or clean stop) said "offline" for all of camgate: while this one runs,
    // camgate is available still.
    if (this.options.clustered) client.subscribe(`${prefix}/available`, { qos: 1 });
    this.watchHealth();
    this.worker.start();
  }

  /** One announce for a burst of cameras taken over (a failover moves several at once). */
  private announceSoon(): void {
    if (this.announceTimer) return;
    this.announceTimer = setTimeout(() => {
      this.announceTimer = undefined;
      this.refresh();
    }, 1000);
    this.announceTimer.unref();
  }

  /** The cameras changed (config reload): announce again. */
  refresh(): void {
    if (!this.client?.connected) return;
    void this.announce().catch((error: unknown) =>
      this.options.logger.warn({ err: errorText(error) }, "MQTT announce failed"),
    );
  }

  private get owned(): CameraSet {
    return this.options.owned ?? this.options.cameras;
  }

  /** Each owned camera's status as its health changes, and at once when it becomes this instance's. */
  private watchHealth(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    const say = (entry: CameraEntry, state: HealthState) => {
      const availability = availabilityOf(state);
      if (availability) this.cameraStatus(entry.id, availability);
    };
    this.unsubscribes.push(
      this.owned.watch({
        health: (entry, health) => say(entry, health.state),
        added: (entry) => {
          say(entry, entry.session.getHealth().state);
          // A camera this instance took over: it announces it now (the last owner may be gone).
          if (this.options.clustered) this.announceSoon();
        },
      }),
    );
  }

  /** Publishes a camera's availability (retained). */
  cameraStatus(camera: string, availability: "online" | "offline"): void {
    this.client?.publish(`${this.options.prefix}/${camera}/status`, availability, {
      qos: 1,
      retain: true,
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.announceTimer);
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
    const on = event.action === "start" || event.action === "pulse";
    if (
      (event.action === "start" || event.action === "stop") &&
      (event.source !== "gateway" || GATEWAY_STATE_CODES.includes(event.code))
    ) {
      // camgate's own motion has a state of its own: the camera's VideoMotion stays the camera's word.
      const state = event.source === "motion" ? CAMGATE_MOTION_STATE : event.code;
      await client.publishAsync(`${base}/${state}`, event.action === "start" ? "ON" : "OFF", {
        qos: 1,
        retain: true,
      });
    }
    if (event.source === "motion" && event.action !== "state")
      for (const zone of zonesOf({ data: event.data }))
        await client.publishAsync(zoneTopic(this.options.prefix, event.camera, zone), on ? "ON" : "OFF", {
          qos: 1,
          retain: true,
        });
    if (event.rule && event.source === "camera") await this.ruleStates(event, on);
    const snapshot = event.snapshot ? await this.options.store.snapshotPath(event.id) : undefined;
    if (snapshot) {
      await client.publishAsync(`${base}/snapshot`, await readFile(snapshot), { qos: 1, retain: true });
    }
    // HA event entities: one message per alert kind (not retained: an event happens once).
    for (const kind of alertKindsOf(event)) {
      const attributes = {
        camera: event.camera,
        incident: event.incident,
        ...(event.rule ? { rule: event.rule } : {}),
        ...(event.objects ? { objects: event.objects } : {}),
      };
      await client.publishAsync(`${base}/alert`, JSON.stringify({ event_type: kind, ...attributes }), {
        qos: 1,
      });
      if (kind === "doorbell")
        await client.publishAsync(
          `${base}/doorbell`,
          JSON.stringify({ event_type: "press", ...attributes }),
          {
            qos: 1,
          },
        );
    }
    this.published++;
  }

  /** The camera's rule sensors (a person or a vehicle in Rule 1): on at a start or pulse, off at a stop. */
  private async ruleStates(event: CamgateEvent, on: boolean): Promise<void> {
    const client = this.client;
    const rule = event.rule;
    if (!client || !rule || event.action === "state") return;
    // A stop says no kind (alert kinds are beginnings): its kinds are its start's.
    const kinds = alertKindsOf({ ...event, action: "start" }).filter(
      (kind): kind is "person" | "vehicle" => kind === "person" || kind === "vehicle",
    );
    const announced = this.announcedRules.get(event.camera);
    for (const kind of kinds) {
      await client.publishAsync(ruleTopic(this.options.prefix, event.camera, rule, kind), on ? "ON" : "OFF", {
        qos: 1,
        retain: true,
      });
      if (this.options.homeAssistant && !announced?.has(`${rule}\n${kind}`)) this.announceSoon();
    }
  }

  /**
   * Availability, camera statuses and Home Assistant discovery (retained, on every connect and reload); the
   * discovery configs published last time and not now are cleared with an empty retained message.
   */
  private async announce(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const { prefix } = this.options;
    await client.publishAsync(`${prefix}/available`, "online", { qos: 1, retain: true });
    // With several instances each announces the cameras it owns (their owner can describe them).
    const entries = this.options.clustered ? this.owned.list() : this.options.cameras.list();
    for (const entry of this.owned.list()) {
      const availability = availabilityOf(entry.session.getHealth().state);
      if (availability) this.cameraStatus(entry.id, availability);
    }
    if (!this.options.homeAssistant) return;
    const discovery: DiscoveryOptions = {
      prefix,
      discoveryPrefix: this.options.discoveryPrefix,
      clientId: this.options.bridgeId ?? this.options.clientId,
    };
    const messages: DiscoveryMessage[] = [...bridgeDiscovery(discovery)];
    for (const entry of entries) messages.push(...cameraDiscovery(discovery, await this.describe(entry)));
    for (const message of messages)
      await client.publishAsync(message.topic, JSON.stringify(message.payload), { qos: 1, retain: true });
    const published = new Set(messages.map((message) => message.topic));
    for (const stale of this.options.discoveryTopics.list().filter((topic) => !published.has(topic))) {
      // A camera that moved to another instance is announced there: only a removed camera's go.
      if (this.options.clustered && this.options.cameras.get(cameraOfTopic(stale) ?? "")) continue;
      await client.publishAsync(stale, "", { qos: 1, retain: true });
    }
    this.options.discoveryTopics.replace([...published]);
  }

  /** What discovery says about a camera: its device info, codes and presets, each best effort. */
  private async describe(entry: CameraEntry) {
    const info = await this.options.cameras.deviceInfo(entry.id).catch((error: unknown) => {
      this.options.logger.warn(
        { camera: entry.id, err: errorText(error) },
        "MQTT discovery without the camera's model and firmware (device info failed)",
      );
      return undefined;
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
    return {
      id: entry.id,
      name: entry.name,
      // Amcrest's doorbells are AD110/AD410, Dahua's door stations VTO<model> (the device type says so).
      doorbell: /^(AD\d{3}|VTO)/i.test(info?.type ?? ""),
      ...(info?.vendor ? { vendor: info.vendor } : {}),
      ...(info?.type ? { model: info.type } : {}),
      ...(info?.softwareVersion ? { firmware: info.softwareVersion } : {}),
      ...(this.options.motionZones?.(entry.id)
        ? { motionZones: this.options.motionZones(entry.id) ?? [] }
        : {}),
      rules: await this.rulesOf(entry.id),
      codes: [
        ...(await this.supportedCodes(entry.id)),
        ...(this.options.securitySensor && entry.protocol === "dahua" ? GATEWAY_STATE_CODES : []),
      ],
      presets,
    };
  }

  /** The camera's rules seen with people or vehicles (and remembered as announced). */
  private async rulesOf(camera: string): Promise<{ rule: string; kind: "person" | "vehicle" }[]> {
    const rules = await this.options.store.incidents.rulesOf(camera).catch((error: unknown) => {
      this.options.logger.warn({ camera, err: errorText(error) }, "MQTT discovery without the rule sensors");
      return [];
    });
    this.announcedRules.set(camera, new Set(rules.map(({ rule, kind }) => `${rule}\n${kind}`)));
    return rules;
  }

  /** The state codes this camera reports (getExposureEvents), or the common ones when it cannot say. */
  private async supportedCodes(camera: string): Promise<string[]> {
    const fallback = ["VideoMotion", "VideoBlind", "VideoLoss"];
    const entry = this.options.cameras.get(camera);
    if (entry?.protocol !== "dahua") return fallback;
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
   * `<prefix>/<camera>/ptz/set` (mqtt-ptz.ts lists what it takes). Every command is answered on
   * `<prefix>/<camera>/ptz/result` (`{"command","ok","error"?}`), and a failed one is logged at warn.
   */
  private async command(topic: string, payload: string): Promise<void> {
    const match = new RegExp(
      `^${this.options.prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/([^/]+)/ptz/set$`,
    ).exec(topic);
    const camera = match?.[1] as string;
    // Another instance owns it: that one moves it (each command once).
    if (this.options.cameras.get(camera) && !this.owned.get(camera)) return;
    const entry = this.owned.get(camera);
    if (!entry) {
      this.options.logger.warn({ topic }, "MQTT PTZ command for a camera camgate does not have");
      return;
    }
    const command = payload.trim().slice(0, 200);
    try {
      const request = parseMqttPtz(payload);
      if ("command" in request) await entry.ptz.run(request.command);
      else {
        const wanted = request.presetName.toLowerCase();
        const preset = (await entry.ptz.presets()).find(
          (candidate) => candidate.name.toLowerCase() === wanted,
        );
        if (!preset) throw new Error(`no preset named "${request.presetName}" on ${camera}`);
        await entry.ptz.run({ action: "gotoPreset", channel: 1, preset: preset.index });
      }
      this.result(camera, { command, ok: true });
    } catch (error) {
      this.options.logger.warn({ camera, topic, command, err: errorText(error) }, "MQTT PTZ command failed");
      this.result(camera, { command, ok: false, error: errorText(error) });
    }
  }

  private result(camera: string, result: { command: string; ok: boolean; error?: string }): void {
    this.client?.publish(`${this.options.prefix}/${camera}/ptz/result`, JSON.stringify(result), { qos: 1 });
  }
}
