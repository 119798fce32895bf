import { cameras, events, go } from "../state.ts";
import { stateLabel } from "./health-notice.tsx";

export function Badge({ state }: { state: string }) {
  return <span class={`badge ${state}`}>{stateLabel(state)}</span>;
}

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
                <img
                  src={`${camera.links.stream}?fps=2`}
                  alt={`${camera.name} live`}
                  width={640}
                  height={480}
                />
                <span class="caption">
                  <strong>{camera.name}</strong> <Badge state={camera.health.state} />
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
