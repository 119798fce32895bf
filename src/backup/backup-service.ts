/**
 * Scheduled config backups: at start-up, every `backup.intervalHours` and on demand, each camera's whole
 * config (Config.backup, or getConfig&name=All where firmware lacks it) is fetched as background work,
 * normalised, redacted and committed when it changed, with a message naming the changed sections. A change
 * is announced (ConfigChanged) with the changed paths.
 */
import type { CameraSet } from "../camera/registry.ts";
import type { JsonObject } from "../protocol/kv.ts";
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
}

export interface BackupServiceOptions {
  cameras: CameraSet;
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

  statuses(): BackupStatus[] {
    return this.options.cameras.list().map(
      (entry) =>
        this.status.get(entry.id) ?? {
          camera: entry.id,
          lastAttempt: undefined,
          lastCommit: undefined,
          lastError: undefined,
        },
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
      this.options.log("warn", "config backup failed", { camera, err: status.lastError });
      throw error;
    }
  }
}
