/**
 * Evidence export from the UI: the cameras to include (this one, and others the user may see), the window (an
 * incident's with its pre- and post-roll, or the timeline's), then the archive's preparation with its
 * progress and the download, with the key's fingerprint to check it by (`camgate verify`).
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { cameras } from "../state.ts";

interface Job {
  id: string;
  state: "preparing" | "ready" | "failed";
  progress: { done: number; total: number };
  size?: number;
  error?: string;
  status: string;
  download: string;
  manifest?: { key: { fingerprint: string }; cameras: { id: string; gaps: unknown[] }[] };
}

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

export function EvidenceExport({
  camera,
  incident,
  window,
}: {
  camera: string;
  incident?: string;
  /** ms since epoch: the range to export when there is no incident. */
  window?: { from: number; to: number };
}) {
  const [chosen, setChosen] = useState<string[]>([camera]);
  const [job, setJob] = useState<Job | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (job?.state !== "preparing") return undefined;
    const timer = setInterval(
      () => void api<Job>(job.status).then(setJob, (e: Error) => setError(e.message)),
      500,
    );
    return () => clearInterval(timer);
  }, [job?.id, job?.state]);
  const start = () => {
    setError(undefined);
    const body = incident
      ? { incident, cameras: chosen, preSeconds: 10, postSeconds: 10 }
      : { cameras: chosen, from: String(window?.from), to: String(window?.to) };
    api<Job>("/api/v1/evidence", { method: "POST", body }).then(setJob, (e: Error) => setError(e.message));
  };
  return (
    <details class="evidence" data-testid="evidence">
      <summary>Export evidence</summary>
      <fieldset>
        <legend>Cameras</legend>
        {cameras.value.map((c) => (
          <label key={c.id} class="check">
            <input
              type="checkbox"
              checked={chosen.includes(c.id)}
              disabled={c.id === camera}
              onChange={(e) =>
                setChosen(
                  (e.currentTarget as HTMLInputElement).checked
                    ? [...chosen, c.id]
                    : chosen.filter((id) => id !== c.id),
                )
              }
            />
            {c.name}
          </label>
        ))}
      </fieldset>
      <p class="muted">
        {incident
          ? "The incident with 10 s before and after."
          : window
            ? `${new Date(window.from).toLocaleString()} – ${new Date(window.to).toLocaleString()}`
            : ""}{" "}
        One ZIP: a video per camera, the events and pictures, and a signed manifest.
      </p>
      <button type="button" disabled={job?.state === "preparing"} onClick={start}>
        Prepare the archive
      </button>
      {error && <p class="error">{error}</p>}
      {job?.state === "preparing" && (
        <p>
          <progress
            max={Math.max(1, job.progress.total)}
            value={job.progress.done}
            aria-label="Preparing the archive"
          />{" "}
          {job.progress.total > 0 ? `${Math.round((100 * job.progress.done) / job.progress.total)} %` : "…"}
        </p>
      )}
      {job?.state === "failed" && <p class="error">The archive failed: {job.error}</p>}
      {job?.state === "ready" && job.size !== undefined && (
        <p data-testid="evidence-ready">
          <a class="button" href={job.download} download>
            Download ({megabytes(job.size)})
          </a>{" "}
          <small class="muted">
            Signed by key <code>{job.manifest?.key.fingerprint.slice(0, 23)}…</code>; check it with{" "}
            <code>camgate verify</code>.
            {job.manifest?.cameras.some((c) => c.gaps.length > 0) &&
              " Some footage is missing: the manifest lists the gaps."}
          </small>
        </p>
      )}
    </details>
  );
}
