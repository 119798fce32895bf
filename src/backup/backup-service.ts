/**
 * Scheduled config backups: at start-up, every `backup.intervalHours` and on demand, each camera's whole
 * config (Config.backup, or getConfig&name=All where firmware lacks it) is fetched as background work,
 * normalised, redacted and committed when it changed, with a message naming the changed sections. A change
 * is announced (ConfigChanged) with the changed paths.
 */
import type { CameraSet } from "../camera/registry.ts";
import type { JsonObject } from "../protocol/kv.ts";
import type { Sql } from "../storage/sql.ts";
import { type ConfigChange, changedSections, diffConfigs } from "./config-diff.ts";
import { normaliseConfig } from "./normalise.ts";
import type { BackupRepository } from "./repository.ts";

export interface BackupResult {
  camera: string;
  commit: string | undefined;
  changed: boolean;
  changes: ConfigChange[];
  /** The top-level config sections the changes touch. */
  sections: string[];
  at: string;
}

export interface BackupStatus {
  camera: string;
  lastAttempt: string | undefined;
  lastCommit: string | undefined;
  lastError: string | undefined;
  /** The instance whose repository holds the commit ("local" alone). */
  instance?: string;
}

interface StatusRow {
  camera: string;
  last_attempt: string | null;
  last_commit: string | null;
  last_error: string | null;
  instance: string;
}

export interface BackupServiceOptions {
  cameras: CameraSet;
  /** The shared store: each camera's last backup, whichever instance made it. */
  sql: Sql;
  /** This instance's name ("local" alone). */
  instance?: string;
  repository: BackupRepository;
  redact: boolean;
  intervalMs: number;
  remote?: { url: string; username?: string; password?: string };
  onChange: (result: BackupResult) => void;
  log: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;
}

export function backupFileName(camera: string): string {
  return `${camera}.json`;
}

export class BackupService {
  private timer: NodeJS.Timeout | undefined;
  private readonly status = new Map<string, BackupStatus>();
  private readonly running = new Map<string, Promise<BackupResult>>();

  constructor(private readonly options: BackupServiceOptions) {}

  async start(): Promise<void> {
    await this.options.repository.init();
    void this.runAll();
    if (this.options.intervalMs > 0) {
      this.timer = setInterval(() => void this.runAll(), this.options.intervalMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Each of these cameras' last backup, as the shared store has it (made here or by another instance). */
  async statuses(cameras: readonly string[]): Promise<BackupStatus[]> {
    const rows = await this.options.sql.all<StatusRow>("SELECT * FROM backup_status");
    const byCamera = new Map(rows.map((row) => [row.camera, row]));
    return cameras.map((camera) => {
      const row = byCamera.get(camera);
      return row
        ? {
            camera,
            lastAttempt: row.last_attempt ?? undefined,
            lastCommit: row.last_commit ?? undefined,
            lastError: row.last_error ?? undefined,
            instance: row.instance,
          }
        : { camera, lastAttempt: undefined, lastCommit: undefined, lastError: undefined };
    });
  }

  /** Written through to the shared store; a store that cannot be written is logged, the backup goes on. */
  private async remember(status: BackupStatus): Promise<void> {
    await this.options.sql
      .run(
        `INSERT INTO backup_status (camera, last_attempt, last_commit, last_error, instance) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (camera) DO UPDATE SET last_attempt = excluded.last_attempt,
           last_commit = COALESCE(excluded.last_commit, backup_status.last_commit),
           last_error = excluded.last_error, instance = excluded.instance`,
        [
          status.camera,
          status.lastAttempt ?? null,
          status.lastCommit ?? null,
          status.lastError ?? null,
          this.options.instance ?? "local",
        ],
      )
      .catch((error: unknown) =>
        this.options.log("warn", "the backup status could not be stored", {
          camera: status.camera,
          err: String(error),
        }),
      );
  }

  /** Backs up every camera in turn; never rejects (a camera's failure is logged and kept in its status). */
  async runAll(): Promise<BackupResult[]> {
    const results: BackupResult[] = [];
    for (const entry of this.options.cameras.list()) {
      // A config backup is Dahua's configManager dump; ONVIF cameras have nothing like it.
      if (entry.protocol !== "dahua") continue;
      const result = await this.runOne(entry.id).then(
        (value) => value,
        // backup() has logged it (warn, with the camera) and recorded it; the other cameras still run.
        () => undefined,
      );
      if (result) results.push(result);
    }
    return results;
  }

  /** One backup of one camera; concurrent requests for the same camera share the run. */
  runOne(camera: string): Promise<BackupResult> {
    const existing = this.running.get(camera);
    if (existing) return existing;
    const run = this.backup(camera).finally(() => this.running.delete(camera));
    this.running.set(camera, run);
    return run;
  }

  private async backup(camera: string): Promise<BackupResult> {
    const entry = this.options.cameras.get(camera);
    if (!entry) throw new Error(`no camera ${camera}`);
    const at = new Date().toISOString();
    const status: BackupStatus = this.status.get(camera) ?? {
      camera,
      lastAttempt: undefined,
      lastCommit: undefined,
      lastError: undefined,
    };
    status.lastAttempt = at;
    this.status.set(camera, status);
    try {
      const config = await entry.api.configBackup("background");
      const content = normaliseConfig(config, { redact: this.options.redact });
      const file = backupFileName(camera);
      const previous = await this.options.repository.read(file);
      const changes =
        previous === undefined
          ? []
          : diffConfigs(JSON.parse(previous) as JsonObject, JSON.parse(content) as JsonObject);
      const sections = changedSections(changes);
      const subject =
        previous === undefined ? `${camera}: first backup` : `${camera}: ${sections.join(", ")} changed`;
      const commit = await this.options.repository.commitFile(file, content, { subject, sections });
      status.lastError = undefined;
      if (commit) status.lastCommit = commit;
      await this.remember(status);
      const result = { camera, commit, changed: commit !== undefined, changes, sections, at };
      if (commit && previous !== undefined) this.options.onChange(result);
      if (commit && this.options.remote) {
        const { url, username, password } = this.options.remote;
        await this.options.repository
          .push(url, username, password)
          .catch((error: unknown) =>
            this.options.log("warn", "pushing the backup repository failed", { camera, err: String(error) }),
          );
      }
      return result;
    } catch (error) {
      status.lastError = error instanceof Error ? error.message : String(error);
      await this.remember(status);
      this.options.log("warn", "config backup failed", { camera, err: status.lastError });
      throw error;
    }
  }
}
