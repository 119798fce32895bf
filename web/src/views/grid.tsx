import { useEffect, useState } from "preact/hooks";
import { cameras, events, go } from "../state.ts";
import { stateLabel } from "./health-notice.tsx";
import { securitySummary } from "./security.tsx";

export function Badge({ state }: { state: string }) {
  return <span class={`badge ${state}`}>{stateLabel(state)}</span>;
}

/** Findings of medium severity or worse (admins only get `security`). */
const serious = (counts: Record<string, number> | undefined) =>
  counts !== undefined && ["critical", "high", "medium"].some((s) => (counts[s] ?? 0) > 0);

export function GridView() {
  const list = cameras.value;
  return (
    <section>
      <h1>Cameras</h1>
      <ul class="grid">
        {list.map((camera) => {
          const latest = events.value.find((e) => e.camera === camera.id);
          return (
            <li key={camera.id}>
              <a
                class="tile"
                href={`/camera/${camera.id}`}
                data-camera={camera.id}
                onClick={go(`/camera/${camera.id}`)}
              >
                {camera.links.stream ? (
                  <img
                    src={`${camera.links.stream}?fps=2`}
                    alt={`${camera.name} live`}
                    width={640}
                    height={480}
                  />
                ) : (
                  <SnapshotTile src={camera.links.snapshot} alt={`${camera.name} live`} />
                )}
                <span class="caption">
                  <strong>{camera.name}</strong> <Badge state={camera.health.state} />
                  {serious(camera.security?.counts) && (
                    <span
                      class="badge security"
                      data-testid="security-badge"
                      title="Security findings (camera page)"
                    >
                      {securitySummary(camera.security?.counts)}
                    </span>
                  )}
                  <small>
                    {latest
                      ? `${latest.code} ${latest.action} · ${new Date(latest.receivedAt).toLocaleTimeString()}`
                      : "no events yet"}
                  </small>
                </span>
              </a>
            </li>
          );
        })}
      </ul>
      {list.length === 0 && <p>No cameras you may see.</p>}
    </section>
  );
}

/**
 * A tile for a camera without MJPEG (an ONVIF camera): its snapshot, taken again every 2 s (camgate's
 * snapshot service answers from the live stream or one shared camera call, whoever asks).
 */
function SnapshotTile({ src, alt }: { src: string; alt: string }) {
  const [round, setRound] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setRound((n) => n + 1), 2000);
    return () => clearInterval(timer);
  }, []);
  return <img src={`${src}?maxAge=2000&r=${round}`} alt={alt} width={640} height={480} />;
}
