/**
 * The camera's security audit (admins): its findings, the most severe first, each with what was seen, why it
 * matters and the fix; "Fix" plans the exact config keys first (nothing is sent), then applies them on
 * confirmation (backed up before and after, audited again). docs/security.md lists every finding.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, api } from "../api.ts";

interface Finding {
  id: string;
  severity: "critical" | "high" | "medium" | "low" | "info";
  title: string;
  seen: string;
  why: string;
  fix: string;
  fixConfig?: Record<string, string | number | boolean>;
}

interface Report {
  at: string;
  error?: { message: string };
  findings: Finding[];
  counts: Record<string, number>;
}

interface PlanAnswer {
  plan: { changes: { path: string; old: string | null; new: string }[]; skipped?: string[] };
}

const SERIOUS = ["critical", "high", "medium"];

/** "2 high · 1 medium": the counts that matter, for the grid and the section's heading. */
export function securitySummary(counts: Record<string, number> | undefined): string {
  if (!counts) return "";
  const parts = SERIOUS.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s}`);
  return parts.length > 0 ? parts.join(" · ") : "no serious findings";
}

export function SecuritySection({ camera }: { camera: string }) {
  const [report, setReport] = useState<Report | null | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [plan, setPlan] = useState<{ ids: string[]; answer: PlanAnswer } | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const base = `/api/v1/cameras/${encodeURIComponent(camera)}/audit`;
  const load = () =>
    void api<Report>(base).then(setReport, (e: unknown) =>
      e instanceof ApiError && e.status === 404 ? setReport(null) : setError(String((e as Error).message)),
    );
  useEffect(load, [camera]);
  const run = (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    work()
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => setBusy(false));
  };
  const auditNow = () => run(async () => setReport(await api<Report>(base, { method: "POST" })));
  const planFix = (ids: string[]) =>
    run(async () =>
      setPlan({
        ids,
        answer: await api<PlanAnswer>(`${base}/fix`, {
          method: "POST",
          body: { findings: ids, dryRun: true },
        }),
      }),
    );
  const applyFix = (ids: string[]) =>
    run(async () => {
      const answer = await api<{ report: Report | null }>(`${base}/fix`, {
        method: "POST",
        body: { findings: ids },
      });
      setPlan(undefined);
      if (answer.report) setReport(answer.report);
    });
  const fixable = report?.findings.filter((f) => f.fixConfig) ?? [];
  return (
    <section class="security" data-testid="security">
      <h2>Security {report && <small>{securitySummary(report.counts)}</small>}</h2>
      {error && <p class="error">{error}</p>}
      {report === undefined && <p>Loading…</p>}
      {report === null && <p>Not audited yet.</p>}
      {report?.error && <p class="error">The last audit could not read the camera: {report.error.message}</p>}
      {report && (
        <p class="muted">
          Audited {new Date(report.at).toLocaleString()}. camgate reads the camera's settings and knocks on
          its doors without credentials; it never tries a password.
        </p>
      )}
      <div class="actions">
        <button type="button" disabled={busy} onClick={auditNow}>
          Audit now
        </button>
        {fixable.length > 1 && (
          <button type="button" disabled={busy} onClick={() => planFix(fixable.map((f) => f.id))}>
            Fix all ({fixable.length})
          </button>
        )}
      </div>
      {plan && (
        <div class="plan" data-testid="fix-plan">
          <p>These settings will be changed on the camera (backed up before and after):</p>
          <table>
            <tbody>
              {plan.answer.plan.changes.map((c) => (
                <tr key={c.path}>
                  <td>
                    <code>{c.path}</code>
                  </td>
                  <td>
                    <del>{c.old ?? "(missing)"}</del> → <ins>{c.new}</ins>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {(plan.answer.plan.skipped ?? []).length > 0 && (
            <p class="muted">Not on this firmware, skipped: {plan.answer.plan.skipped?.join(", ")}</p>
          )}
          <button
            type="button"
            disabled={busy || plan.answer.plan.changes.length === 0}
            onClick={() => applyFix(plan.ids)}
          >
            Apply
          </button>{" "}
          <button type="button" disabled={busy} onClick={() => setPlan(undefined)}>
            Cancel
          </button>
        </div>
      )}
      <ul class="findings">
        {report?.findings.map((f) => (
          <li key={f.id} class={`finding ${f.severity}`} data-finding={f.id}>
            <span class={`severity ${f.severity}`}>{f.severity}</span> <strong>{f.title}</strong>
            <div class="seen">{f.seen}</div>
            <div class="why">{f.why}</div>
            <div class="fix">
              Fix: {f.fix}{" "}
              {f.fixConfig && (
                <button type="button" disabled={busy} onClick={() => planFix([f.id])}>
                  Fix
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
