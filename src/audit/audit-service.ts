/**
 * Security audits of the cameras this instance owns: at start, after a config backup that changed
 * something, daily, and on demand; one at a time per camera (a second ask joins the running one), cameras
 * one after another (an audit is background work, never a burst at the camera). Each camera's last report is
 * kept in the shared store, so a finding is announced (`onChange`) once when it appears and once when it is
 * resolved, across restarts and instances.
 */
import { CameraError } from "../camera/errors.ts";
import type { Sql } from "../storage/sql.ts";
import { errorText } from "../util/error-text.ts";
import { type AdvisoryVerdict, matchAdvisories } from "./advisory-match.ts";
import type { AuditFacts, DoorAnswer, PortName } from "./facts.ts";
import { type Finding, type JudgeOptions, judge, SEVERITIES, type Severity } from "./findings.ts";
import type { Firmware } from "./firmware.ts";
import { type AuditTarget, gatherFacts } from "./gather.ts";

export interface AuditReport {
  camera: string;
  /** When the audit ran (ISO 8601). */
  at: string;
  /** The audit could not read the camera: why (the previous findings are kept, not resolved). */
  error?: { code: string; message: string };
  device?: { model?: string; platformName?: string; vendor?: string; firmware?: Firmware };
  findings: Finding[];
  advisories: AdvisoryVerdict[];
  counts: Record<Severity, number>;
  /** What each door answered without credentials, for the report's reader. */
  doors?: { cgi: DoorAnswer; rtsp: DoorAnswer; onvif: DoorAnswer; ports: Record<PortName, string> };
}

export interface AuditChange {
  camera: string;
  /** The findings of the report before this one. */
  previous: Finding[];
  added: Finding[];
  resolved: Finding[];
  report: AuditReport;
}

export interface AuditServiceOptions {
  sql: Sql;
  /** The cameras to audit now (the owned ones), and one by id (undefined: not owned or not a Dahua camera). */
  targets: () => AuditTarget[];
  target: (camera: string) => AuditTarget | undefined;
  judge: JudgeOptions;
  intervalMs: number;
  onChange: (change: AuditChange) => void;
  log: (level: "info" | "warn", message: string, fields: Record<string, unknown>) => void;
  now?: () => Date;
}

const emptyCounts = (): Record<Severity, number> =>
  Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts = emptyCounts();
  for (const finding of findings) counts[finding.severity]++;
  return counts;
}

/** The report of an audit that read the camera. */
export function auditReport(camera: string, facts: AuditFacts, options: JudgeOptions): AuditReport {
  const findings = judge(facts, options);
  const { model, platformName, vendor, firmware } = facts.device;
  return {
    camera,
    at: facts.at.toISOString(),
    device: {
      ...(model ? { model } : {}),
      ...(platformName ? { platformName } : {}),
      ...(vendor ? { vendor } : {}),
      ...(firmware ? { firmware } : {}),
    },
    findings,
    advisories: matchAdvisories(facts.device),
    counts: countBySeverity(findings),
    doors: {
      cgi: facts.doors.cgi,
      rtsp: facts.doors.rtsp,
      onvif: facts.doors.onvif,
      ports: facts.doors.ports,
    },
  };
}

/** The report of an audit that could not read the camera: why, and the findings known before (if any). */
export function failedReport(camera: string, error: unknown, at: Date, previous?: AuditReport): AuditReport {
  return {
    ...(previous ?? { findings: [], advisories: [], counts: emptyCounts() }),
    camera,
    at: at.toISOString(),
    error: { code: error instanceof CameraError ? error.code : "internal", message: errorText(error) },
  };
}

export class AuditService {
  private readonly reports = new Map<string, AuditReport>();
  private readonly running = new Map<string, Promise<AuditReport>>();
  private timer: NodeJS.Timeout | undefined;
  private sweep: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: AuditServiceOptions) {}

  /**
   * Loads the stored reports and audits every camera each interval (the first audit of a camera is asked
   * by whoever owns it: `audit(camera)` when it is owned).
   */
  async start(): Promise<void> {
    const rows = await this.options.sql.all<{ camera: string; report: string }>(
      "SELECT camera, report FROM audit_reports",
    );
    for (const row of rows) {
      try {
        this.reports.set(row.camera, JSON.parse(row.report) as AuditReport);
      } catch {
        // A report that does not parse is as good as none: the next audit writes a new one.
      }
    }
    if (this.options.intervalMs > 0) {
      this.timer = setInterval(() => this.auditAllOnce(), this.options.intervalMs);
      this.timer.unref();
    }
  }

  /** Every owned camera, one after another; a sweep still running when the next is due is not doubled. */
  auditAllOnce(): void {
    this.sweep ??= this.auditAll().finally(() => {
      this.sweep = undefined;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([this.sweep, ...this.running.values()]);
  }

  latest(camera: string): AuditReport | undefined {
    return this.reports.get(camera);
  }

  /** The camera's last report, made here or by the instance that owns it (the shared store). */
  async report(camera: string): Promise<AuditReport | undefined> {
    const known = this.reports.get(camera);
    if (known) return known;
    const row = await this.options.sql.get<{ report: string }>(
      "SELECT report FROM audit_reports WHERE camera = ?",
      [camera],
    );
    try {
      return row ? (JSON.parse(row.report) as AuditReport) : undefined;
    } catch {
      return undefined;
    }
  }

  all(): AuditReport[] {
    return [...this.reports.values()];
  }

  /** Audits one camera now (joining an audit of it already running); undefined when it is not audited here. */
  audit(camera: string): Promise<AuditReport> | undefined {
    const running = this.running.get(camera);
    if (running) return running;
    const target = this.options.target(camera);
    if (!target || this.closed) return undefined;
    const run = this.run(target).finally(() => this.running.delete(camera));
    this.running.set(camera, run);
    return run;
  }

  private async auditAll(): Promise<void> {
    for (const target of this.options.targets()) {
      if (this.closed) return;
      await this.audit(target.entry.id)?.catch(() => undefined);
    }
  }

  private async run(target: AuditTarget): Promise<AuditReport> {
    const camera = target.entry.id;
    const now = this.options.now ?? (() => new Date());
    const previous = this.reports.get(camera);
    let report: AuditReport;
    try {
      report = auditReport(camera, await gatherFacts(target, now), this.options.judge);
    } catch (error) {
      // Nothing was learnt: the previous findings stand (a camera that is away is not a resolved finding).
      this.options.log("warn", "security audit could not read the camera", { camera, err: errorText(error) });
      report = failedReport(camera, error, now(), previous);
      this.reports.set(camera, report);
      return report;
    }
    this.reports.set(camera, report);
    await this.options.sql
      .run(
        `INSERT INTO audit_reports (camera, at, report) VALUES (?, ?, ?)
         ON CONFLICT (camera) DO UPDATE SET at = excluded.at, report = excluded.report`,
        [camera, report.at, JSON.stringify(report)],
      )
      .catch((error: unknown) =>
        this.options.log("warn", "the audit report could not be stored", { camera, err: errorText(error) }),
      );
    const before = new Map((previous?.findings ?? []).map((f) => [f.id, f]));
    const present = new Set(report.findings.map((f) => f.id));
    const added = report.findings.filter((f) => !before.has(f.id));
    const resolved = [...before.values()].filter((f) => !present.has(f.id));
    if (added.length > 0 || resolved.length > 0)
      this.options.onChange({ camera, previous: previous?.findings ?? [], added, resolved, report });
    this.options.log("info", "security audit", {
      camera,
      findings: report.findings.length,
      added: added.map((f) => f.id),
      resolved: resolved.map((f) => f.id),
    });
    return report;
  }
}
