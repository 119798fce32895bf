/**
 * The event pipeline, built from the config: the SQLite store and outbox, the bus, the cameras' event
 * streams, alarm e-mail ingest, the gateway's own events (offline/online, auth failures, stalls, reboots),
 * snapshots for configured codes, and the deliveries (webhooks, MQTT). `close()` stops all of it.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import { CameraEventStream } from "../camera/events.ts";
import type { CameraEntry, CameraRegistry } from "../camera/registry.ts";
import type { Config } from "../config/schema.ts";
import type { AlarmMail } from "../protocol/alarm-mail.ts";
import type { JsonValue } from "../protocol/kv.ts";
import type { HubRegistry } from "../relay/hub-registry.ts";
import { type Db, openDatabase } from "../storage/database.ts";
import { EventBus } from "./bus.ts";
import { DeliveryWorker } from "./delivery-worker.ts";
import { type NewEvent, normaliseAction } from "./model.ts";
import { MQTT_TARGET, MqttBridge } from "./mqtt.ts";
import { type EmbeddedBroker, startEmbeddedBroker } from "./mqtt-broker.ts";
import { Outbox } from "./outbox.ts";
import { SmtpIngest } from "./smtp-ingest.ts";
import { EventStore } from "./store.ts";
import { postWebhook, type WebhookTarget, webhookTargetKey, webhookWants } from "./webhooks.ts";

function splitHostPort(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  return { host: (match?.[1] ?? match?.[2] ?? "127.0.0.1") as string, port: Number(match?.[3] ?? 0) };
}

export class EventPipeline {
  readonly db: Db;
  readonly store: EventStore;
  readonly outbox: Outbox;
  readonly bus: EventBus;
  readonly webhooks: { target: WebhookTarget; worker: DeliveryWorker }[] = [];
  readonly streams = new Map<string, CameraEventStream>();
  smtp: SmtpIngest | undefined;
  mqtt: MqttBridge | undefined;
  broker: EmbeddedBroker | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribes: (() => void)[] = [];
  /** Per-camera publish chains: events of one camera are stored in the order they happened. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly uptimes = new Map<string, { up: number; at: number }>();
  /** When each camera's event stream last went down. */
  private readonly downSince = new Map<string, number>();

  constructor(
    private readonly config: Config,
    private readonly cameras: CameraRegistry,
    private readonly hubs: HubRegistry,
    private readonly logger: Logger,
    storageDir: string,
  ) {
    this.db = openDatabase(join(storageDir, "camgate.db"));
    this.store = new EventStore(this.db, join(storageDir, "snapshots"));
    this.outbox = new Outbox(this.db);
    this.bus = new EventBus(this.store, this.outbox);
    config.webhooks.forEach((webhook, index) => {
      const target: WebhookTarget = {
        name: webhook.name ?? `webhook-${index + 1}`,
        url: webhook.url,
        secret: webhook.secret,
        cameras: webhook.cameras,
        codes: webhook.codes,
        actions: webhook.actions,
        timeoutMs: webhook.timeoutMs,
      };
      const key = webhookTargetKey(target.name);
      this.webhooks.push({
        target,
        worker: new DeliveryWorker(key, this.outbox, this.store, (event, delivery) =>
          postWebhook(target, event, delivery.id),
        ),
      });
    });
    this.bus.addRouter((event) =>
      this.webhooks.filter((w) => webhookWants(w.target, event)).map((w) => webhookTargetKey(w.target.name)),
    );
    if (config.mqtt) this.bus.addRouter(() => [MQTT_TARGET]);
  }

  async start(): Promise<void> {
    for (const { worker } of this.webhooks) worker.start();
    await this.startMqtt();
    await this.startSmtp();
    for (const entry of this.cameras.list()) this.watchHealth(entry);
    if (this.config.events.enabled) {
      for (const entry of this.cameras.list()) this.startEventStream(entry);
    }
    this.applyRetention();
    this.retentionTimer = setInterval(() => this.applyRetention(), 3_600_000);
    this.retentionTimer.unref();
  }

  /** Publishes an event (after any earlier event of the same camera), returning when it is stored. */
  publish(event: NewEvent): Promise<void> {
    return this.publishLater(event.camera, async () => event);
  }

  /**
   * Queues an event whose contents take time to gather (a snapshot): it is built and stored after every
   * earlier event of the camera, so a stop can never overtake its start.
   */
  private publishLater(camera: string, build: () => Promise<NewEvent>): Promise<void> {
    const previous = this.chains.get(camera) ?? Promise.resolve();
    const next = previous.then(async () => {
      this.bus.publish(await build());
    });
    const settled = next.catch((error: unknown) =>
      this.logger.error({ err: error, camera }, "storing an event failed"),
    );
    this.chains.set(camera, settled);
    return settled;
  }

  /** A gateway event (CameraOffline, StreamStalled, ...). */
  gatewayEvent(
    camera: string,
    code: string,
    data: JsonValue,
    action: "pulse" | "start" | "stop" = "pulse",
  ): Promise<void> {
    return this.publish({ camera, source: "gateway", code, action, channel: 0, data, cameraTime: null });
  }

  /** Ends everything, in an order that loses nothing: sources first, then deliveries, then the database. */
  async close(): Promise<void> {
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    for (const stream of this.streams.values()) stream.stop();
    await this.smtp?.close();
    await Promise.all(this.chains.values());
    for (const { worker } of this.webhooks) worker.stop();
    await this.mqtt?.close();
    await this.broker?.close();
    this.db.close();
  }

  private async startMqtt(): Promise<void> {
    const mqtt = this.config.mqtt;
    if (!mqtt) return;
    let url = mqtt.url;
    if (mqtt.embedded) {
      const { host, port } = splitHostPort(mqtt.embeddedListen);
      this.broker = await startEmbeddedBroker(host, port);
      url ??= this.broker.url;
    }
    if (!url) throw new Error("mqtt: set mqtt.url, or mqtt.embedded: true");
    this.mqtt = new MqttBridge({
      url,
      ...(mqtt.username !== undefined ? { username: mqtt.username } : {}),
      ...(mqtt.password !== undefined ? { password: mqtt.password } : {}),
      prefix: mqtt.prefix,
      homeAssistant: mqtt.homeAssistant,
      discoveryPrefix: mqtt.discoveryPrefix,
      // aedes speaks MQTT 3.1.1; an external broker gets MQTT 5 unless told otherwise.
      protocolVersion: mqtt.protocolVersion ?? (mqtt.embedded && !mqtt.url ? 4 : 5),
      clientId: mqtt.clientId,
      cameras: this.cameras,
      outbox: this.outbox,
      store: this.store,
      log: (level, message, fields) => this.logger[level](fields ?? {}, message),
    });
    this.mqtt.start();
  }

  private async startSmtp(): Promise<void> {
    const smtp = this.config.smtp;
    if (!smtp) return;
    const { host, port } = splitHostPort(smtp.listen);
    this.smtp = new SmtpIngest({
      host,
      port,
      ...(smtp.username !== undefined ? { username: smtp.username } : {}),
      ...(smtp.password !== undefined ? { password: smtp.password } : {}),
      acceptAnyCredentials: smtp.acceptAnyCredentials,
      ...(smtp.tls ? { tls: smtp.tls } : {}),
      maxSizeBytes: smtp.maxSizeBytes,
      matchCamera: (mail, sender, remote) => this.matchMailCamera(mail, sender, remote),
      publish: (event) => void this.publish(event),
      log: (level, message, fields) => this.logger[level](fields ?? {}, message),
    });
    await this.smtp.listen();
  }

  /** The camera that sent an alarm mail: by configured sender, then `Alarm Device Name`, then `IP Address`. */
  private matchMailCamera(
    mail: AlarmMail,
    sender: string | undefined,
    remote: string | undefined,
  ): string | undefined {
    const configs = this.config.cameras;
    const bySender = sender
      ? configs.find((c) => c.mailFrom?.toLowerCase() === sender.toLowerCase())
      : undefined;
    if (bySender) return bySender.id;
    const name = mail.deviceName?.toLowerCase();
    if (name) {
      const byName = configs.find((c) => c.id === name || c.name?.toLowerCase() === name);
      if (byName) return byName.id;
      for (const entry of this.cameras.list()) {
        const known = this.machineNames.get(entry.id);
        if (known && known.toLowerCase() === name) return entry.id;
      }
    }
    const hostOf = (url: string) => new URL(url).hostname;
    const ip = mail.ipAddress ?? remote?.replace(/^::ffff:/, "");
    const byIp = configs.filter((c) => hostOf(c.url) === ip);
    // Several emulated cameras can share an address; only a unique match identifies the camera.
    return byIp.length === 1 ? byIp[0]?.id : undefined;
  }

  private readonly machineNames = new Map<string, string>();

  private watchHealth(entry: CameraEntry): void {
    this.unsubscribes.push(
      entry.session.onHealthChange((health, previous) => {
        if (health.state === "offline")
          void this.gatewayEvent(entry.id, "CameraOffline", { reason: health.reason ?? null });
        if (health.state === "auth-failed")
          void this.gatewayEvent(entry.id, "AuthFailed", { reason: health.reason ?? null });
        if (health.state === "online" && (previous.state === "offline" || previous.state === "auth-failed")) {
          void this.gatewayEvent(entry.id, "CameraOnline", { after: previous.state });
        }
        if (health.state === "online" || health.state === "offline")
          this.mqtt?.cameraStatus(entry.id, health.state === "online");
      }),
    );
  }

  private startEventStream(entry: CameraEntry): void {
    const override = this.config.cameras.find((c) => c.id === entry.id)?.events;
    if (override?.enabled === false) return;
    const codes = override?.codes ?? this.config.events.codes;
    const stream = new CameraEventStream({
      api: entry.api,
      codes,
      heartbeatSeconds: this.config.events.heartbeatSeconds,
      onEvent: (notice) => {
        const action = normaliseAction(notice.action);
        void this.cameraEvent(
          entry,
          notice.code,
          action,
          notice.index,
          notice.data ?? null,
          notice.synthetic,
        );
      },
      onStatus: (status, reason) => {
        if (status === "down" && !this.downSince.has(entry.id)) this.downSince.set(entry.id, Date.now());
        if (status === "down" && reason?.startsWith("nothing from the camera")) {
          void this.gatewayEvent(entry.id, "StreamStalled", { stream: "events", reason });
        }
      },
      onReconnect: () => void this.checkReboot(entry),
    });
    this.streams.set(entry.id, stream);
    stream.start();
    void this.rememberUptime(entry);
    void this.cameras
      .deviceInfo(entry.id)
      .then((info) => info.machineName && this.machineNames.set(entry.id, info.machineName))
      .catch(() => undefined);
  }

  private cameraEvent(
    entry: CameraEntry,
    code: string,
    action: ReturnType<typeof normaliseAction>,
    index: number,
    data: JsonValue,
    synthetic: boolean,
  ): Promise<void> {
    const wantsSnapshot =
      action === "start" && this.config.events.snapshotCodes.some((c) => c === "*" || c === code);
    return this.publishLater(entry.id, async () => {
      const snapshotJpeg = wantsSnapshot ? await this.snapshotFor(entry, index + 1) : undefined;
      return {
        camera: entry.id,
        source: "camera",
        code,
        action,
        channel: index,
        data: synthetic
          ? { synthetic: true, reason: "the state ended while the event stream was down" }
          : data,
        cameraTime: cameraTimeOf(data),
        ...(snapshotJpeg ? { snapshotJpeg } : {}),
      };
    });
  }

  /** The live frame when a stream of this camera runs, else one snapshot.cgi in the background (5 s at most). */
  private async snapshotFor(entry: CameraEntry, channel: number): Promise<Buffer | undefined> {
    const live = this.hubs.freshFrame(entry.id, channel, 2000);
    if (live) return live;
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000).unref());
    return Promise.race([entry.api.snapshot(channel, "background").catch(() => undefined), timeout]);
  }

  private async rememberUptime(entry: CameraEntry): Promise<void> {
    const up = await uptimeOf(entry);
    if (up !== undefined) this.uptimes.set(entry.id, { up, at: Date.now() });
  }

  /**
   * After the event stream came back: the camera rebooted if it has been up for less time than the stream
   * was down, or for less than it had been up before plus the time since.
   */
  private async checkReboot(entry: CameraEntry): Promise<void> {
    const before = this.uptimes.get(entry.id);
    const downAt = this.downSince.get(entry.id);
    this.downSince.delete(entry.id);
    const up = await uptimeOf(entry);
    if (up === undefined) return;
    const now = Date.now();
    this.uptimes.set(entry.id, { up, at: now });
    const bootedDuringGap = downAt !== undefined && up < (now - downAt) / 1000 + 1;
    const expected = before ? before.up + (now - before.at) / 1000 : undefined;
    if (bootedDuringGap || (expected !== undefined && up + 5 < expected)) {
      void this.gatewayEvent(entry.id, "CameraRebooted", {
        uptimeSeconds: up,
        ...(expected !== undefined ? { expectedSeconds: Math.round(expected) } : {}),
      });
    }
  }

  private applyRetention(): void {
    try {
      const removed = this.store.prune(
        this.config.events.retention.days * 86_400_000,
        this.config.events.retention.maxEvents,
      );
      this.outbox.prune(7 * 86_400_000);
      if (removed > 0) this.logger.info({ removed }, "event retention");
    } catch (error) {
      this.logger.error({ err: error }, "event retention failed");
    }
  }
}

async function uptimeOf(entry: CameraEntry): Promise<number | undefined> {
  try {
    const body = await entry.api.cgi("/cgi-bin/magicBox.cgi?action=getUpTime", "background");
    const up = /^up=(\d+)/m.exec(body)?.[1];
    return up === undefined ? undefined : Number(up);
  } catch {
    return undefined;
  }
}

/** Newer firmware puts `LocaleTime` in the data (rroller/dahua#456). */
function cameraTimeOf(data: JsonValue): string | null {
  if (
    data !== null &&
    typeof data === "object" &&
    !Array.isArray(data) &&
    typeof data.LocaleTime === "string"
  ) {
    return data.LocaleTime.replace(" ", "T");
  }
  return null;
}
