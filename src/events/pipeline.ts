/**
 * The event pipeline, composed from its rooms: the store and outbox (on the database `app.ts` opened), the
 * bus, the publisher (per-camera order), the camera event streams, alarm-mail ingest, the gateway's own
 * events, the deliveries (webhooks, notifications, MQTT) and retention. `close()` stops all of it, in an order that loses
 * nothing: sources first, then what they were storing, then the deliveries.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import type { CameraRegistry, CameraSet } from "../camera/registry.ts";
import type { Config } from "../config/schema.ts";
import type { EventStreams } from "../relay/event-stream-hub.ts";
import type { HubRegistry } from "../relay/hub-registry.ts";
import type { SnapshotService } from "../relay/snapshot.ts";
import type { Db } from "../storage/database.ts";
import type { Sql } from "../storage/sql.ts";
import { EventBus } from "./bus.ts";
import { CameraEventSources } from "./camera-sources.ts";
import { Deliveries } from "./deliveries.ts";
import type { EventLinker } from "./event-links.ts";
import { GatewayWatch } from "./gateway-watch.ts";
import { MailMatcher } from "./mail-matcher.ts";
import { Outbox } from "./outbox.ts";
import { EventPublisher } from "./publisher.ts";
import { EventRetention } from "./retention.ts";
import { SdCardWatch } from "./sd-card-watch.ts";
import { SmtpIngest, type SmtpIngestOptions } from "./smtp-ingest.ts";
import { EventStore } from "./store.ts";

export interface EventPipelineParts {
  config: Config;
  /** The instance's own SQLite file (what stays per instance: the MQTT discovery topics it published). */
  db: Db;
  /** Where events, incidents and deliveries live: the SQLite file, or the cluster's PostgreSQL. */
  sql: Sql;
  /** Set when several instances share `sql`. */
  cluster?: { instance: string };
  cameras: CameraRegistry;
  /** The cameras whose events this instance stores (all of them, or with several instances its own). */
  owned: CameraSet;
  hubs: HubRegistry;
  eventStreams: EventStreams;
  snapshots: SnapshotService;
  logger: Logger;
  storageDir: string;
  /** Failed logins per address, shared with the HTTP front door (SMTP AUTH counts into it). */
  loginLimiter: SmtpIngestOptions["limiter"];
  /** The signed, absolute links webhooks and notifications carry. */
  links: EventLinker;
}

export class EventPipeline {
  readonly store: EventStore;
  readonly outbox: Outbox;
  readonly bus: EventBus;
  readonly publisher: EventPublisher;
  readonly sources: CameraEventSources;
  readonly watch: GatewayWatch;
  readonly sdCards: SdCardWatch;
  readonly deliveries: Deliveries;
  readonly retention: EventRetention;
  smtp: SmtpIngest | undefined;
  private readonly matcher: MailMatcher;

  constructor(private readonly parts: EventPipelineParts) {
    const { config, sql, cameras, owned, logger } = parts;
    this.store = new EventStore(
      sql,
      join(parts.storageDir, "snapshots"),
      Date.now,
      parts.config.events.mergeWindowSeconds * 1000,
    );
    this.outbox = new Outbox(sql, parts.cluster ? { claimant: parts.cluster.instance } : {});
    this.bus = new EventBus(this.store, this.outbox, (error, event) =>
      logger.warn({ err: error, camera: event.camera, event: event.id }, "a live event listener failed"),
    );
    this.publisher = new EventPublisher(this.bus, this.store, logger);
    this.watch = new GatewayWatch(owned, parts.hubs, this.publisher, logger);
    this.sdCards = new SdCardWatch({
      cameras: owned,
      publisher: this.publisher,
      logger,
      intervalMs: config.events.sdCard.checkSeconds * 1000,
      fullPercent: config.events.sdCard.fullPercent,
    });
    this.sources = new CameraEventSources(
      config,
      owned,
      parts.eventStreams,
      parts.snapshots,
      this.publisher,
      this.watch,
    );
    this.deliveries = new Deliveries(
      config,
      cameras,
      owned,
      this.bus,
      this.outbox,
      this.store,
      logger,
      parts.db,
      parts.cluster,
      parts.links,
    );
    this.retention = new EventRetention(config.events.retention, this.store, this.outbox, logger);
    this.matcher = new MailMatcher(config.cameras, cameras, logger);
  }

  async start(): Promise<void> {
    await this.outbox.releaseOwnClaims();
    await this.deliveries.start();
    await this.startSmtp();
    this.watch.start();
    this.sdCards.start();
    this.sources.start();
    this.retention.start();
  }

  async close(): Promise<void> {
    this.watch.stop();
    await this.sdCards.stop();
    this.sources.stop();
    this.matcher.stop();
    await this.smtp?.close();
    await this.publisher.drain();
    await this.retention.stop();
    await this.deliveries.close();
  }

  private async startSmtp(): Promise<void> {
    const smtp = this.parts.config.smtp;
    if (!smtp) return;
    const logger = this.parts.logger;
    this.matcher.start();
    this.smtp = new SmtpIngest({
      host: smtp.listen.host,
      port: smtp.listen.port,
      ...(smtp.username !== undefined ? { username: smtp.username } : {}),
      ...(smtp.password !== undefined ? { password: smtp.password } : {}),
      acceptAnyCredentials: smtp.acceptAnyCredentials,
      ...(smtp.tls ? { tls: smtp.tls } : {}),
      maxSizeBytes: smtp.maxSizeBytes,
      matchCamera: (mail, sender, remote) => this.matcher.matchOrRelearn(mail, sender, remote),
      publish: (event) => void this.publisher.publish(event),
      limiter: this.parts.loginLimiter,
      log: (level, message, fields) => logger[level](fields ?? {}, message),
    });
    await this.smtp.listen();
  }
}
