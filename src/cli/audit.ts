/**
 * `camgate audit [-c FILE] [--camera ID] [--json]`: the security audit of the configured cameras, once, from
 * the command line (the gateway runs the same audit on its own schedule). Exits 1 when a camera has a
 * finding of high or critical severity, or could not be read, so scripts and CI can gate on it.
 */
import { dirname, join, resolve } from "node:path";
import { type AuditReport, auditReport, failedReport } from "../audit/audit-service.ts";
import { auditTargetFor, gatherFacts } from "../audit/gather.ts";
import { cameraDefinition } from "../camera/definition-from-config.ts";
import { CameraRegistry } from "../camera/registry.ts";
import { loadConfigFile } from "../config/load.ts";
import { authFailureMemory } from "../storage/auth-failures.ts";
import { openDatabase } from "../storage/database.ts";

export async function runAudit(
  flags: { config: string; camera?: string[]; json?: boolean },
  out: NodeJS.WritableStream,
): Promise<boolean> {
  const config = loadConfigFile(flags.config);
  const wanted = flags.camera ?? [];
  const unknown = wanted.filter((id) => !config.cameras.some((c) => c.id === id));
  if (unknown.length > 0)
    throw new Error(
      `no camera ${unknown.map((id) => `"${id}"`).join(", ")} in the config (have: ${config.cameras.map((c) => c.id).join(", ") || "none"})`,
    );
  const cameras = config.cameras.filter((c) => wanted.length === 0 || wanted.includes(c.id));
  // The gateway's memory of refused credentials, so an audit never tries a password it is waiting on.
  const db = openDatabase(join(resolve(dirname(resolve(flags.config)), config.storage.dir), "camgate.db"));
  const registry = new CameraRegistry(
    cameras.map((camera) =>
      cameraDefinition(camera, { authMemory: authFailureMemory(db, camera.id, new URL(camera.url).origin) }),
    ),
  );
  const reports: AuditReport[] = [];
  try {
    for (const camera of cameras) {
      const entry = registry.get(camera.id);
      const target = entry ? auditTargetFor(camera, entry, { ...config.audit, enabled: true }) : undefined;
      if (!target) continue;
      const judged = { firmwareMaxAgeYears: config.audit.firmwareMaxAgeYears };
      reports.push(
        await gatherFacts(target).then(
          (facts) => auditReport(camera.id, facts, judged),
          (error: unknown) => failedReport(camera.id, error, new Date()),
        ),
      );
    }
  } finally {
    await registry.close();
    db.close();
  }
  if (flags.json) out.write(`${JSON.stringify(reports, null, 2)}\n`);
  else for (const report of reports) out.write(describe(report));
  return reports.every((report) => !report.error && report.counts.critical === 0 && report.counts.high === 0);
}

function describe(report: AuditReport): string {
  const lines = [`${report.camera}:`];
  if (report.error) {
    lines.push(`  could not be audited: ${report.error.message}`);
    return `${lines.join("\n")}\n\n`;
  }
  const firmware = report.device?.firmware;
  lines.push(
    `  ${report.device?.model ?? "?"}${report.device?.platformName ? ` (${report.device.platformName})` : ""}, firmware ${firmware?.version ?? "?"}${firmware?.buildDate ? ` built ${firmware.buildDate}` : ""}`,
  );
  if (report.findings.length === 0) lines.push("  no findings");
  for (const finding of report.findings) {
    lines.push(`  [${finding.severity}] ${finding.id}: ${finding.title}`);
    lines.push(`      seen: ${finding.seen}`);
    lines.push(`      why:  ${finding.why}`);
    lines.push(`      fix:  ${finding.fix}`);
  }
  const advisories = report.advisories.filter((a) => a.status === "fixed" || a.status === "not-affected");
  if (advisories.length > 0)
    lines.push(
      `  advisories that do not apply to this build: ${advisories.map((a) => `${a.id} (${a.status})`).join(", ")}`,
    );
  return `${lines.join("\n")}\n\n`;
}
