/**
 * Camera history: every version of a camera's config camgate backed up, each clickable to see what it
 * changed; for admins, a version restored (its plan shown first, then applied through the same plan and apply
 * as provisioning), a backup now, and a provisioning template planned and applied to this camera or to every
 * camera they may see.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.ts";
import { cameras } from "../state.ts";

interface Version {
  commit: string;
  time: string;
  message: string;
}
interface Change {
  path: string;
  kind: string;
  old?: string;
  new?: string;
}
interface PlannedChange {
  path: string;
  old: string | null;
  new: string;
}
interface Plan {
  camera: string;
  changes: PlannedChange[];
  unchanged: number;
}
interface ApplyResult {
  camera: string;
  ok: boolean;
  backupCommit?: string;
  results: { path: string; status: "applied" | "unchanged" | "rejected"; error?: string }[];
}

const short = (commit: string) => commit.slice(0, 8);

function planText(plans: Plan[]): string {
  return plans
    .map((p) =>
      [
        `${p.camera}: ${p.changes.length ? `${p.changes.length} to change` : "nothing would change"}`,
        ...p.changes.map((c) => `  ${c.path}: ${c.old ?? "(missing)"} → ${c.new}`),
      ].join("\n"),
    )
    .join("\n");
}

function applyText(results: ApplyResult[]): string {
  return results
    .map((r) =>
      [
        `${r.camera}: ${r.ok ? "done" : "some changes refused"}${r.backupCommit ? ` (backed up first as ${short(r.backupCommit)})` : ""}`,
        ...r.results
          .filter((x) => x.status !== "unchanged")
          .map((x) => `  ${x.path}: ${x.status}${x.error ? ` (${x.error})` : ""}`),
      ].join("\n"),
    )
    .join("\n");
}

export function CameraHistory({ admin }: { admin: boolean }) {
  // Camera history is Dahua's config: ONVIF cameras have none.
  const dahua = cameras.value.filter((c) => c.protocol !== "onvif");
  const [camera, setCamera] = useState(dahua[0]?.id ?? "");
  const [versions, setVersions] = useState<Version[]>([]);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [diff, setDiff] = useState<Change[] | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [restore, setRestore] = useState<{ commit: string; plan: Plan } | undefined>(undefined);

  // The version whose diff is wanted: an answer for one clicked before is dropped.
  const wanted = useRef<string | undefined>(undefined);
  const showVersion = async (list: Version[], commit: string | undefined) => {
    wanted.current = commit;
    setSelected(commit);
    setRestore(undefined);
    setDiff(undefined);
    const at = list.findIndex((v) => v.commit === commit);
    const before = list[at + 1];
    if (!commit || !before) return;
    const d = await api<{ changes: Change[] }>(
      `/api/v1/backups/${camera}/diff?from=${before.commit}&to=${commit}`,
    ).catch(() => ({ changes: [] }));
    if (wanted.current === commit) setDiff(d.changes);
  };
  const load = async (id: string) => {
    if (!id) return;
    const history = await api<{ versions: Version[] }>(`/api/v1/backups/${id}`).catch(() => ({
      versions: [] as Version[],
    }));
    setVersions(history.versions);
    await showVersion(history.versions, history.versions[0]?.commit);
  };
  useEffect(() => {
    if (!camera && dahua[0]) setCamera(dahua[0].id);
    void load(camera);
  }, [camera, dahua.length]);

  const selectedIndex = versions.findIndex((v) => v.commit === selected);
  return (
    <div class="camera-history">
      <div class="filters">
        <label>
          Camera
          <select value={camera} onChange={(e) => setCamera((e.currentTarget as HTMLSelectElement).value)}>
            {dahua.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        {admin && (
          <button
            type="button"
            onClick={async () => {
              setMessage("Backing up…");
              const result = await api<{ results: { changed?: boolean; error?: string }[] }>(
                "/api/v1/backups/run",
                { method: "POST", body: { camera } },
              );
              const first = result.results[0];
              setMessage(
                first?.error
                  ? `Failed: ${first.error}`
                  : first?.changed
                    ? "Backed up: a new version."
                    : "Backed up: nothing changed.",
              );
              await load(camera);
            }}
          >
            Back up now
          </button>
        )}
      </div>
      {message && <p role="status">{message}</p>}
      <h3>Versions</h3>
      <ol class="versions">
        {versions.map((v, i) => (
          <li key={v.commit}>
            <button
              type="button"
              class="link"
              aria-pressed={v.commit === selected}
              data-commit={v.commit}
              onClick={() => void showVersion(versions, v.commit)}
            >
              <code>{short(v.commit)}</code> <time>{new Date(v.time).toLocaleString()}</time>
            </button>{" "}
            {v.message}
            {i === 0 && <span class="badge">current</span>}
          </li>
        ))}
      </ol>
      {versions.length === 0 && <p>No backup yet.</p>}
      {selected && (
        <>
          <h3>
            What <code>{short(selected)}</code> changed
          </h3>
          {selectedIndex === versions.length - 1 && <p>The first backup: nothing to compare with.</p>}
          {diff && diff.length === 0 && <p>No config path changed.</p>}
          {diff && diff.length > 0 && <DiffTable changes={diff} />}
          {admin && selectedIndex > 0 && (
            <div class="restore">
              <button
                type="button"
                onClick={async () => {
                  const plan = await api<Plan>(`/api/v1/backups/${camera}/restore`, {
                    method: "POST",
                    body: { commit: selected, dryRun: true },
                  });
                  setRestore({ commit: selected, plan });
                }}
              >
                Restore this version…
              </button>
              {restore?.commit === selected && (
                <>
                  <pre class="plan" data-testid="restore-plan">
                    {planText([restore.plan])}
                  </pre>
                  {restore.plan.changes.length > 0 && (
                    <button
                      type="button"
                      class="danger"
                      onClick={async () => {
                        setMessage("Restoring…");
                        const result = await api<ApplyResult>(`/api/v1/backups/${camera}/restore`, {
                          method: "POST",
                          body: { commit: selected },
                        });
                        setRestore(undefined);
                        setMessage(`Restored ${short(selected)}.\n${applyText([result])}`);
                        await load(camera);
                      }}
                    >
                      Apply the restore to the camera
                    </button>
                  )}
                </>
              )}
            </div>
          )}
        </>
      )}
      {admin && <Provisioning camera={camera} />}
    </div>
  );
}

function DiffTable({ changes }: { changes: Change[] }) {
  return (
    <table class="diff">
      <thead>
        <tr>
          <th>Path</th>
          <th>Old</th>
          <th>New</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={c.path} data-path={c.path}>
            <td>
              <code>{c.path}</code>
            </td>
            <td class="old">{c.old ?? ""}</td>
            <td class="new">{c.new ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A template planned first (nothing touched), then applied to what was planned. */
function Provisioning({ camera }: { camera: string }) {
  const [template, setTemplate] = useState("");
  const [everyCamera, setEveryCamera] = useState(false);
  const [planned, setPlanned] = useState<{ text: string; changes: number } | undefined>(undefined);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const body = () => ({ template, ...(everyCamera ? {} : { cameras: [camera] }) });
  const reset = () => {
    setPlanned(undefined);
    setOutcome(undefined);
  };
  return (
    <>
      <h3>Provisioning</h3>
      <form
        class="provision"
        onSubmit={async (e) => {
          e.preventDefault();
          setOutcome(undefined);
          try {
            const result = await api<{ plans: Plan[] }>("/api/v1/provision/plan", {
              method: "POST",
              body: body(),
            });
            setPlanned({
              text: planText(result.plans),
              changes: result.plans.reduce((n, p) => n + p.changes.length, 0),
            });
          } catch (err) {
            setPlanned({ text: `Error: ${(err as Error).message}`, changes: 0 });
          }
        }}
      >
        <label>
          Template (YAML: config paths and values)
          <textarea
            name="template"
            rows={5}
            value={template}
            onInput={(e) => {
              setTemplate((e.currentTarget as HTMLTextAreaElement).value);
              reset();
            }}
            placeholder={'NTP.Enable: true\nGeneral.MachineName: "${camera.id}"'}
          />
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={everyCamera}
            onChange={(e) => {
              setEveryCamera((e.currentTarget as HTMLInputElement).checked);
              reset();
            }}
          />
          Every camera I may see (not only this one)
        </label>
        <button type="submit">Plan</button>
      </form>
      {planned && <pre class="plan">{planned.text}</pre>}
      {planned && planned.changes > 0 && (
        <button
          type="button"
          class="danger"
          onClick={async () => {
            setOutcome("Applying…");
            const result = await api<{ results: ApplyResult[] }>("/api/v1/provision/apply", {
              method: "POST",
              body: body(),
            }).catch((err: Error) => ({ error: err.message }));
            setPlanned(undefined);
            setOutcome("error" in result ? `Error: ${result.error}` : applyText(result.results));
          }}
        >
          Apply the plan
        </button>
      )}
      {outcome && (
        <pre class="plan" role="status" data-testid="apply-result">
          {outcome}
        </pre>
      )}
    </>
  );
}
