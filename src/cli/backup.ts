/**
 * `camgate backup run|list|show|diff` and `camgate provision plan|apply`, working on the config file
 * directly (the cameras and the backup repository in the storage dir), with or without a running gateway.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { BASELINE, BASELINE_TEMPLATE_NAME } from "../audit/baseline.ts";
import { judge } from "../audit/findings.ts";
import { auditTargetFor, gatherFacts } from "../audit/gather.ts";
import { BackupService, backupFileName } from "../backup/backup-service.ts";
import { diffConfigs, unifiedDiff } from "../backup/config-diff.ts";
import { apply, displayPlan, parseTemplate, plan } from "../backup/provision.ts";
import { BackupRepository } from "../backup/repository.ts";
import { cameraDefinition } from "../camera/definition-from-config.ts";
import { type CameraEntry, CameraRegistry } from "../camera/registry.ts";
import { loadConfigFile } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { JsonObject } from "../protocol/kv.ts";
import { openDatabase } from "../storage/database.ts";
import { SqliteSql } from "../storage/sqlite-sql.ts";
import { errorText } from "../util/error-text.ts";

interface Context {
  config: Config;
  cameras: CameraRegistry;
  repository: BackupRepository;
  service: BackupService;
  close(): Promise<void>;
}

function open(configFile: string, only?: string[]): Context {
  const config = loadConfigFile(configFile);
  const selected =
    only && only.length > 0 ? config.cameras.filter((c) => only.includes(c.id)) : config.cameras;
  const missing = (only ?? []).filter((id) => !config.cameras.some((c) => c.id === id));
  if (missing.length > 0) throw new Error(`no camera ${missing.join(", ")} in ${configFile}`);
  const cameras = new CameraRegistry(selected.map((c) => cameraDefinition(c)));
  const storageDir = resolve(dirname(resolve(configFile)), config.storage.dir);
  const repository = new BackupRepository(join(storageDir, "config-backups"));
  // The run is noted where a gateway on this storage dir notes its own (its SQLite file).
  const db = openDatabase(join(storageDir, "camgate.db"));
  const service = new BackupService({
    cameras,
    sql: new SqliteSql(db),
    repository,
    redact: config.backup.redact,
    intervalMs: 0,
    onChange: () => undefined,
    log: () => undefined,
  });
  return {
    config,
    cameras,
    repository,
    service,
    close: async () => {
      await cameras.close();
      db.close();
    },
  };
}

export async function runBackup(
  command: string,
  flags: { config: string; camera?: string[]; from?: string; to?: string; commit?: string },
  out: NodeJS.WritableStream,
): Promise<void> {
  const ctx = open(flags.config, flags.camera);
  try {
    await ctx.repository.init();
    const ids = ctx.cameras.list().map((c) => c.id);
    if (command === "run") {
      let failed = 0;
      for (const id of ids) {
        try {
          const result = await ctx.service.runOne(id);
          out.write(
            `${id}: ${result.commit ? `committed ${result.commit.slice(0, 10)} (${result.changes.length} path(s) changed)` : "unchanged"}\n`,
          );
        } catch (error) {
          failed++;
          out.write(`${id}: failed: ${error instanceof Error ? error.message : String(error)}\n`);
        }
      }
      if (failed > 0) throw new Error(`${failed} backup(s) failed`);
    } else if (command === "list") {
      for (const id of ids) {
        const versions = await ctx.repository.history(backupFileName(id));
        out.write(`${id}\n`);
        for (const v of versions) out.write(`  ${v.commit.slice(0, 10)}  ${v.time}  ${v.message}\n`);
      }
    } else if (command === "show") {
      const id = ids[0];
      if (!id) throw new Error("which camera? --camera <id>");
      const text = await ctx.repository.read(backupFileName(id), flags.commit ?? "HEAD");
      if (text === undefined) throw new Error(`no backup of ${id} at ${flags.commit ?? "HEAD"}`);
      out.write(text);
    } else if (command === "diff") {
      const id = ids[0];
      if (!id) throw new Error("which camera? --camera <id>");
      const file = backupFileName(id);
      const versions = await ctx.repository.history(file, 2);
      const to = flags.to ?? versions[0]?.commit;
      const from = flags.from ?? versions[1]?.commit;
      if (!to || !from) throw new Error(`fewer than two versions of ${id}`);
      const [before, after] = await Promise.all([
        ctx.repository.read(file, from),
        ctx.repository.read(file, to),
      ]);
      if (before === undefined || after === undefined) throw new Error("no such version");
      for (const change of diffConfigs(JSON.parse(before) as JsonObject, JSON.parse(after) as JsonObject)) {
        out.write(`${change.kind.padEnd(8)} ${change.path}: ${change.old ?? ""} -> ${change.new ?? ""}\n`);
      }
      out.write(`\n${unifiedDiff(file, before, after, from, to)}`);
    } else {
      throw new Error(`unknown backup command "${command}": run, list, show, diff`);
    }
  } finally {
    await ctx.close();
  }
}

/** The audit of one camera after the baseline: its findings still open, in one line each. */
async function auditAfter(entry: CameraEntry, config: Config, out: NodeJS.WritableStream): Promise<void> {
  const camera = config.cameras.find((c) => c.id === entry.id);
  const target = camera ? auditTargetFor(camera, entry, { ...config.audit, enabled: true }) : undefined;
  if (!target) return;
  try {
    const findings = judge(await gatherFacts(target), {
      firmwareMaxAgeYears: config.audit.firmwareMaxAgeYears,
    });
    out.write(
      `  audit after: ${findings.length === 0 ? "no findings" : `${findings.length} finding(s) left`}\n`,
    );
    for (const f of findings) out.write(`    [${f.severity}] ${f.id}: ${f.fix}\n`);
  } catch (error) {
    out.write(`  audit after: could not read the camera (${errorText(error)})\n`);
  }
}

export async function runProvision(
  command: string,
  flags: { config: string; template: string; camera?: string[] },
  out: NodeJS.WritableStream,
): Promise<void> {
  // `--template baseline`: the audit's hardening baseline (a file of that name wins); keys the firmware
  // does not have are skipped with a note.
  const builtIn = flags.template === BASELINE_TEMPLATE_NAME && !existsSync(flags.template);
  const template = builtIn ? BASELINE : parseTemplate(readFileSync(flags.template, "utf8"));
  const options = { onlyExisting: builtIn };
  const ctx = open(flags.config, flags.camera);
  try {
    await ctx.repository.init();
    let failed = false;
    for (const entry of ctx.cameras.list()) {
      if (command === "plan") {
        const planned = displayPlan(await plan(entry, template, options));
        out.write(`${entry.id}: ${planned.changes.length} change(s), ${planned.unchanged} unchanged\n`);
        for (const c of planned.changes) out.write(`  ${c.path}: ${c.old ?? "(missing)"} -> ${c.new}\n`);
        for (const path of planned.skipped ?? [])
          out.write(`  skipped   ${path}: this firmware does not have it\n`);
      } else if (command === "apply") {
        const backup = async () => (await ctx.service.runOne(entry.id)).commit;
        const result = await apply(entry, template, backup, options);
        out.write(
          `${entry.id}: ${result.ok ? "applied" : "PARTIAL"} (backup ${result.backupCommit?.slice(0, 10) ?? "unchanged"})\n`,
        );
        for (const r of result.results)
          out.write(`  ${r.status.padEnd(9)} ${r.path}${r.error ? `: ${r.error}` : ""}\n`);
        for (const path of result.skipped ?? [])
          out.write(`  skipped   ${path}: this firmware does not have it\n`);
        failed ||= !result.ok;
        if (builtIn) {
          // Backed up after as before, and audited again: what the baseline could not fix is still listed.
          const after = await backup();
          out.write(`  backup after: ${after?.slice(0, 10) ?? "unchanged"}\n`);
          await auditAfter(entry, ctx.config, out);
        }
      } else {
        throw new Error(`unknown provision command "${command}": plan, apply`);
      }
    }
    if (failed) throw new Error("some values were rejected (see above)");
  } finally {
    await ctx.close();
  }
}
