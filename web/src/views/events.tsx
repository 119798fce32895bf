import { useState } from "preact/hooks";
import { cameras, events } from "../state.ts";

export function EventsView() {
  const [camera, setCamera] = useState("");
  const [code, setCode] = useState("");
  const [since, setSince] = useState("");
  const codes = [...new Set(events.value.map((e) => e.code))].sort();
  const sinceMs = since ? Date.parse(since) : 0;
  const shown = events.value.filter(
    (e) =>
      (!camera || e.camera === camera) &&
      (!code || e.code === code) &&
      (!sinceMs || Date.parse(e.receivedAt) >= sinceMs),
  );
  return (
    <section>
      <h1>Events</h1>
      <div class="filters">
        <label>
          Camera
          <select value={camera} onChange={(e) => setCamera((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">all</option>
            {cameras.value.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Code
          <select value={code} onChange={(e) => setCode((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">all</option>
            {codes.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          Since
          <input
            type="datetime-local"
            value={since}
            onChange={(e) => setSince((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
      </div>
      <ol class="timeline" aria-live="polite">
        {shown.map((e) => (
          <li key={e.id} class={`source-${e.source}`} data-code={e.code}>
            <time>{new Date(e.receivedAt).toLocaleString()}</time>
            <span class="what">
              <strong>{e.code}</strong> {e.action} · {e.camera}
              {e.source !== "camera" && <em> ({e.source})</em>}
            </span>
            {e.snapshot && (
              <a href={`/api/v1/events/${e.id}/snapshot.jpg`} target="_blank" rel="noreferrer">
                <img
                  class="thumb"
                  src={`/api/v1/events/${e.id}/snapshot.jpg`}
                  alt={`${e.code} snapshot`}
                  width={96}
                  height={72}
                  loading="lazy"
                />
              </a>
            )}
          </li>
        ))}
      </ol>
      {shown.length === 0 && <p>No events.</p>}
    </section>
  );
}
