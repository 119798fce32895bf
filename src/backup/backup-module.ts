/** Config in git, camera log sync and syslog forwarding, built from the config and started together. */
import { join } from "node:path";
import type { Logger } from "pino";
import type { CameraSet } from "../camera/registry.ts";
import type { Config } from "../config/schema.ts";
import type { CamgateEvent } from "../events/model.ts";
import type { Db } from "../storage/database.ts";
import type { Sql } from "../storage/sql.ts";
import { type BackupResult, BackupService } from "./backup-service.ts";
import { LogSync } from "./log-sync.ts";
import { BackupRepository } from "./repository.ts";
import { SyslogForwarder } from "./syslog.ts";

const SEVERITY: Record<string, number> = {
  CameraOffline: 3,
  AuthFailed: 3,
  StreamStalled: 4,
  CameraRebooted: 4,
  VideoBlind: 4,
  VideoLoss: 4,
};

/** What backups need from the rest of camgate (wired by `app.ts`). */
export interface BackupModuleParts {
  config: Config;
  cameras: CameraSet;
  db: Db;
  /** The shared store (camera logs, each camera's last backup). */
  sql: Sql;
  /** This instance's name, with several. */
  instance?: string;
  storageDir: string;
  logger: Logger;
  /** A backup found the camera's config changed (the ConfigChanged event). */
  onConfigChanged: (result: BackupResult) => void;
  /** Live events, for syslog forwarding. */
  subscribeEvents: (listener: (event: CamgateEvent) => void) => () => void;
}

export class BackupModule {
  readonly repository: BackupRepository;
  readonly service: BackupService;
  readonly logs: LogSync;
  readonly syslog: SyslogForwarder | undefined;
  private unsubscribe: (() => void) | undefined;

  private readonly config: Config;

  constructor(parts: BackupModuleParts) {
    const { config, cameras, storageDir, logger } = parts;
    this.config = config;
    const log = (level: "info" | "warn", message: string, fields?: Record<string, unknown>) =>
      logger[level](fields ?? {}, message);
    this.repository = new BackupRepository(join(storageDir, "config-backups"));
    this.service = new BackupService({
      cameras,
      sql: parts.sql,
      ...(parts.instance ? { instance: parts.instance } : {}),
      repository: this.repository,
      redact: config.backup.redact,
      intervalMs: config.backup.intervalHours * 3_600_000,
      ...(config.backup.remote ? { remote: config.backup.remote } : {}),
      onChange: parts.onConfigChanged,
      log,
    });
    this.syslog = config.syslog ? new SyslogForwarder(config.syslog.url, config.syslog.hostname) : undefined;
    const forward = new Set(config.syslog?.forward ?? []);
    this.logs = new LogSync(
      parts.sql,
      cameras,
      (entries) => {
        if (!this.syslog || !forward.has("camera-logs")) return;
        for (const entry of entries) {
          this.syslog.send({
            severity: /fail|error|lock/i.test(entry.type) ? 4 : 6,
            time: `${entry.time.replace(" ", "T")}`,
            appName: `camera-${entry.camera}`,
            msgId: entry.type.replace(/\s+/g, "_"),
            data: {
              camgate: {
                camera: entry.camera,
                type: entry.type,
                ...(entry.user ? { user: entry.user } : {}),
              },
            },
            message: `${entry.type}${entry.user ? ` by ${entry.user}` : ""} ${JSON.stringify(entry.detail)}`,
          });
        }
      },
      (message, fields) => log("warn", message, fields),
    );
    if (this.syslog && forward.has("events")) {
      const syslog = this.syslog;
      this.unsubscribe = parts.subscribeEvents((event) =>
        syslog.send({
          severity: SEVERITY[event.code] ?? 6,
          time: event.receivedAt,
          appName: "camgate",
          msgId: event.code,
          data: {
            camgate: {
              camera: event.camera,
              source: event.source,
              code: event.code,
              action: event.action,
              id: event.id,
            },
          },
          message: `${event.camera} ${event.code} ${event.action}`,
        }),
      );
    }
  }

  async start(): Promise<void> {
    if (this.config.backup.enabled) await this.service.start();
    else await this.repository.init();
    if (this.config.logSync.enabled) {
      void this.logs.syncAll();
      this.logs.start(this.config.logSync.intervalMinutes * 60_000);
    }
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.service.stop();
    this.logs.stop();
    await this.syslog?.close();
  }
}
