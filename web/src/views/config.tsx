import { useEffect, useState } from "preact/hooks";
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

export function ConfigView({ admin }: { admin: boolean }) {
  const [camera, setCamera] = useState(cameras.value[0]?.id ?? "");
  const [versions, setVersions] = useState<Version[]>([]);
  const [diff, setDiff] = useState<Change[] | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [plan, setPlan] = useState<string | undefined>(undefined);
  const load = async (id: string) => {
    if (!id) return;
    const history = await api<{ versions: Version[] }>(`/api/v1/backups/${id}`).catch(() => ({
      versions: [],
    }));
    setVersions(history.versions);
    if (history.versions.length >= 2) {
      const d = await api<{ changes: Change[] }>(
        `/api/v1/backups/${id}/diff?from=${history.versions[1]?.commit}&to=${history.versions[0]?.commit}`,
      );
      setDiff(d.changes);
    } else setDiff(undefined);
  };
  useEffect(() => {
    if (!camera && cameras.value[0]) setCamera(cameras.value[0].id);
    void load(camera);
  }, [camera, cameras.value.length]);
  return (
    <section>
      <h1>Config history</h1>
      <div class="filters">
        <label>
          Camera
          <select value={camera} onChange={(e) => setCamera((e.currentTarget as HTMLSelectElement).value)}>
            {cameras.value.map((c) => (
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
      <h2>Versions</h2>
      <ol class="versions">
        {versions.map((v) => (
          <li key={v.commit}>
            <code>{v.commit.slice(0, 8)}</code> <time>{new Date(v.time).toLocaleString()}</time> {v.message}
          </li>
        ))}
      </ol>
      {versions.length === 0 && <p>No backup yet.</p>}
      {diff && (
        <>
          <h2>Last change</h2>
          <table class="diff">
            <thead>
              <tr>
                <th>Path</th>
                <th>Old</th>
                <th>New</th>
              </tr>
            </thead>
            <tbody>
              {diff.map((c) => (
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
        </>
      )}
      {admin && (
        <>
          <h2>Provisioning plan</h2>
          <form
            class="provision"
            onSubmit={async (e) => {
              e.preventDefault();
              const text = String(new FormData(e.currentTarget as HTMLFormElement).get("template") ?? "");
              try {
                const result = await api<{
                  plans: { camera: string; changes: { path: string; old: string | null; new: string }[] }[];
                }>("/api/v1/provision/plan", {
                  method: "POST",
                  body: { template: text, cameras: [camera] },
                });
                const changes = result.plans[0]?.changes ?? [];
                setPlan(
                  changes.length
                    ? changes.map((c) => `${c.path}: ${c.old ?? "(missing)"} → ${c.new}`).join("\n")
                    : "Nothing would change.",
                );
              } catch (err) {
                setPlan(`Error: ${(err as Error).message}`);
              }
            }}
          >
            <label>
              Template (YAML: config paths and values)
              <textarea
                name="template"
                rows={5}
                placeholder={'NTP.Enable: true\nGeneral.MachineName: "${camera.id}"'}
              />
            </label>
            <button type="submit">Plan</button>
          </form>
          {plan && <pre class="plan">{plan}</pre>}
        </>
      )}
    </section>
  );
}
