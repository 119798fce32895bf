/**
 * The cameras' security audit (docs/security.md), per owned Dahua camera: audited when owned, after a config
 * backup that changed something (its ConfigChanged event), every `audit.intervalHours` and on demand. A new
 * or resolved finding is a gateway event (`SecurityFinding`); whether the camera has a finding of medium
 * severity or worse is a state (`SecurityProblem` start/stop: Home Assistant's "problem" sensor).
 */
import { AuditService } from "../audit/audit-service.ts";
import type { Finding } from "../audit/findings.ts";
import { type AuditTarget, auditTargetFor } from "../audit/gather.ts";
import type { CameraEntry } from "../camera/registry.ts";
import type { Core } from "./core.ts";
import type { Events } from "./events.ts";
import type { Ownership } from "./ownership.ts";
import type { Part } from "./part.ts";

export interface Audit extends Part {
  service: AuditService | undefined;
}

const PROBLEM_SEVERITIES = new Set(["critical", "high", "medium"]);
const isProblem = (findings: readonly Finding[]) => findings.some((f) => PROBLEM_SEVERITIES.has(f.severity));
const brief = (f: Finding) => ({ id: f.id, severity: f.severity, title: f.title, seen: f.seen });

export function makeAudit({
  core,
  ownership,
  events,
}: {
  core: Core;
  ownership: Ownership;
  events: Events;
}): Audit {
  const { config, logger, sql } = core;
  if (!config.audit.enabled) return { name: "audit", service: undefined };
  const publisher = events.pipeline.publisher;

  const targetOf = (entry: CameraEntry): AuditTarget | undefined => {
    const camera = config.cameras.find((c) => c.id === entry.id);
    return camera ? auditTargetFor(camera, entry, config.audit) : undefined;
  };

  const service = new AuditService({
    sql,
    targets: () =>
      ownership.owned
        .list()
        .map(targetOf)
        .filter((t): t is AuditTarget => t !== undefined),
    target: (id) => {
      const entry = ownership.owned.get(id);
      return entry ? targetOf(entry) : undefined;
    },
    judge: { firmwareMaxAgeYears: config.audit.firmwareMaxAgeYears },
    intervalMs: config.audit.intervalHours * 3_600_000,
    onChange: ({ camera, previous, added, resolved, report }) => {
      void publisher.gatewayEvent(camera, "SecurityFinding", {
        added: added.map(brief),
        resolved: resolved.map(brief),
        counts: report.counts,
      });
      const before = isProblem(previous);
      const now = isProblem(report.findings);
      if (now !== before)
        void publisher.gatewayEvent(
          camera,
          "SecurityProblem",
          { counts: report.counts },
          now ? "start" : "stop",
        );
    },
    log: (level, message, fields) => logger[level](fields, message),
  });
  core.metrics.watchAudit(() => service.all());

  let unsubscribe: (() => void) | undefined;
  return {
    name: "audit",
    service,
    start: async () => {
      await service.start();
      // A config backup that changed something may have changed what the audit judges.
      unsubscribe = events.pipeline.bus.subscribe((event) => {
        if (event.source === "gateway" && event.code === "ConfigChanged")
          void service.audit(event.camera)?.catch(() => undefined);
      });
    },
    close: async () => {
      unsubscribe?.();
      await service.close();
    },
    cameraOwned: (entry) => {
      void service.audit(entry.id)?.catch(() => undefined);
    },
  };
}
