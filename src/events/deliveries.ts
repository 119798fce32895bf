/**
 * Where stored events go: one durable outbox target per webhook and per notification target (each drained
 * in order by its own worker), and MQTT (the bridge, and the embedded broker when configured). The bus
 * routes each event to the targets that want it, in the event's own transaction.
 */
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { CameraRegistry, CameraSet } from "../camera/registry.ts";
import type { Config } from "../config/schema.ts";
import type { Db } from "../storage/database.ts";
import { discoveryTopics } from "../storage/discovery-topics.ts";
import type { EventBus } from "./bus.ts";
import { DEFAULT_WORKER_OPTIONS, DeliveryWorker, type DeliveryWorkerOptions } from "./delivery-worker.ts";
import type { EventLinker } from "./event-links.ts";
import type { CamgateEvent } from "./model.ts";
import { MQTT_TARGET, MqttBridge } from "./mqtt.ts";
import { type EmbeddedBroker, startEmbeddedBroker } from "./mqtt-broker.ts";
import {
  NotifyError,
  NotifyRouter,
  type NotifyTarget,
  notificationContent,
  notifyTargetKey,
  sendNotification,
} from "./notify.ts";
import type { Outbox } from "./outbox.ts";
import type { EventStore } from "./store.ts";
import { postWebhook, type WebhookTarget, webhookTargetKey, webhookWants } from "./webhooks.ts";

export class Deliveries {
  readonly webhooks: { target: WebhookTarget; worker: DeliveryWorker }[] = [];
  readonly notify: { target: NotifyTarget; worker: DeliveryWorker }[] = [];
  mqtt: MqttBridge | undefined;
  broker: EmbeddedBroker | undefined;

  constructor(
    private readonly config: Config,
    private readonly cameras: CameraRegistry,
    /** The cameras whose MQTT status and commands are this instance's. */
    private readonly owned: CameraSet,
    bus: EventBus,
    private readonly outbox: Outbox,
    private readonly store: EventStore,
    private readonly logger: Logger,
    /** The instance's own SQLite file (the discovery topics it published). */
    private readonly localDb: Db,
    /** Several instances share the outbox: workers poll for each other's work, and MQTT clients differ. */
    private readonly cluster: { instance: string } | undefined,
    private readonly links: EventLinker,
  ) {
    const workerOptions = this.workerOptions();
    config.webhooks.forEach((webhook, index) => {
      const target: WebhookTarget = {
        name: webhook.name ?? `webhook-${index + 1}`,
        url: webhook.url,
        secret: webhook.secret,
        cameras: webhook.cameras,
        codes: webhook.codes,
        actions: webhook.actions,
        timeoutMs: webhook.timeoutMs,
        legacySignature: webhook.legacySignature,
      };
      this.webhooks.push({
        target,
        worker: new DeliveryWorker(
          webhookTargetKey(target.name),
          outbox,
          store,
          (event, delivery) => postWebhook(target, event, delivery.id, links(event)),
          () => true,
          // Longer than a send can take (it is cut at its timeout), short enough for a quick failover.
          { ...workerOptions, claimMs: target.timeoutMs * 2 + 5000 },
        ),
      });
    });
    bus.addRouter((event) =>
      this.webhooks.filter((w) => webhookWants(w.target, event)).map((w) => webhookTargetKey(w.target.name)),
    );
    for (const target of config.notify)
      this.notify.push({
        target,
        worker: new DeliveryWorker(
          notifyTargetKey(target.name),
          outbox,
          store,
          (event) => this.sendNotification(target, event),
          () => true,
          { ...workerOptions, claimMs: target.timeoutMs * 2 + 5000 },
        ),
      });
    const notifyRouter = new NotifyRouter(config.notify, {
      maySee: (name, camera) => {
        const user = config.users.find((u) => u.name === name);
        return user !== undefined && (user.cameras.includes("*") || user.cameras.includes(camera));
      },
    });
    bus.addRouter((event) => notifyRouter.route(event));
    if (config.mqtt) bus.addRouter(() => [MQTT_TARGET]);
  }

  /** One notification: the words, the stored snapshot, the links; a refusal is retried like any delivery. */
  private async sendNotification(target: NotifyTarget, event: CamgateEvent): Promise<void> {
    const file = event.snapshot ? await this.store.snapshotPath(event.id) : undefined;
    // A snapshot removed by retention since: the words still go.
    const snapshot = file ? await readFile(file).catch(() => undefined) : undefined;
    const name = this.cameras.get(event.camera)?.name ?? event.camera;
    const content = notificationContent(target, event, name, this.links(event), snapshot);
    if (!content) return;
    try {
      await sendNotification(target, content);
    } catch (error) {
      if (error instanceof NotifyError)
        this.logger.debug({ target: target.name, camera: event.camera, code: error.code }, error.message);
      throw error;
    }
  }

  private workerOptions(): DeliveryWorkerOptions {
    // Alone, an instance hears of all its work; in a cluster it also looks every 2 s for what another
    // instance left (it died, or its claim lapsed).
    return { ...DEFAULT_WORKER_OPTIONS, idlePollMs: this.cluster ? 2000 : DEFAULT_WORKER_OPTIONS.idlePollMs };
  }

  async start(): Promise<void> {
    for (const { worker } of [...this.webhooks, ...this.notify]) worker.start();
    const mqtt = this.config.mqtt;
    if (!mqtt) return;
    if (mqtt.embedded)
      this.broker = await startEmbeddedBroker(mqtt.embeddedListen.host, mqtt.embeddedListen.port);
    const url = mqtt.url ?? this.broker?.url;
    // The schema requires a url unless the broker is embedded.
    if (url === undefined) throw new Error("mqtt: set mqtt.url, or mqtt.embedded: true");
    this.mqtt = new MqttBridge({
      url,
      ...(mqtt.username !== undefined ? { username: mqtt.username } : {}),
      ...(mqtt.password !== undefined ? { password: mqtt.password } : {}),
      prefix: mqtt.prefix,
      homeAssistant: mqtt.homeAssistant,
      discoveryPrefix: mqtt.discoveryPrefix,
      securitySensor: this.config.audit.enabled,
      // aedes speaks MQTT 3.1.1; an external broker gets MQTT 5 unless told otherwise.
      protocolVersion: mqtt.protocolVersion ?? (mqtt.embedded && !mqtt.url ? 4 : 5),
      // Two clients with one id would throw each other off the broker.
      clientId: this.cluster ? `${mqtt.clientId}-${this.cluster.instance}` : mqtt.clientId,
      bridgeId: mqtt.clientId,
      cameras: this.cameras,
      owned: this.owned,
      clustered: this.cluster !== undefined,
      outbox: this.outbox,
      store: this.store,
      discoveryTopics: discoveryTopics(this.localDb),
      motionZones: (camera) => {
        const motion = this.config.cameras.find((c) => c.id === camera)?.motion;
        return motion?.enabled ? motion.zones.map((zone) => zone.name) : undefined;
      },
      worker: this.workerOptions(),
      logger: this.logger,
    });
    await this.mqtt.start();
  }

  async close(): Promise<void> {
    for (const { worker } of [...this.webhooks, ...this.notify]) worker.stop();
    await this.mqtt?.close();
    await this.broker?.close();
  }
}
