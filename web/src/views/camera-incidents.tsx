/**
 * The camera page's list of what happened: one row per incident (a motion with its duration, its sources and
 * its clip; a person; a doorbell press), never the raw start/stop transitions. camgate's own notes about the
 * camera (offline, a stalled stream, a security finding) are listed apart; a ClipReady is not listed, its clip
 * is on its incident's row. Refreshed when an event of this camera arrives over SSE.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type Incident } from "../api.ts";
import { events } from "../state.ts";
import { ClipDetails, duration } from "./events.tsx";
import { IncidentTags } from "./incident-tags.tsx";

const HIDDEN = new Set(["ClipReady"]);

export function CameraIncidents({ camera }: { camera: string }) {
  const [incidents, setIncidents] = useState<Incident[] | undefined>(undefined);
  const latest = events.value.find((e) => e.camera === camera)?.id;
  useEffect(() => {
    void api<{ incidents: Incident[] }>(
      `/api/v1/incidents?camera=${encodeURIComponent(camera)}&limit=30`,
    ).then(
      (page) => setIncidents(page.incidents.filter((i) => !HIDDEN.has(i.code))),
      () => setIncidents([]),
    );
  }, [camera, latest]);
  if (!incidents) return <p>Loading…</p>;
  const fromCamera = incidents.filter((i) => i.sources.some((s) => s !== "gateway"));
  const notes = incidents.filter((i) => i.sources.every((s) => s === "gateway"));
  return (
    <>
      <h2>Recent incidents</h2>
      <ul class="events incidents" data-testid="camera-incidents">
        {fromCamera.length === 0 && <li>Nothing yet.</li>}
        {fromCamera.map((incident) => (
          <li key={incident.id} data-incident={incident.id} data-code={incident.code}>
            {incident.snapshotEvent && (
              <img
                class="thumb"
                src={`/api/v1/events/${incident.snapshotEvent}/snapshot.jpg`}
                alt=""
                width={96}
                height={72}
                loading="lazy"
              />
            )}
            <strong>{incident.code}</strong> <time>{new Date(incident.start).toLocaleTimeString()}</time>{" "}
            <span class="duration">
              {incident.ongoing ? "ongoing" : incident.durationMs ? duration(incident.durationMs) : ""}
            </span>{" "}
            <IncidentTags incident={incident} />{" "}
            <small>
              {incident.sources
                .map((s) => (s === "camera" ? "event stream" : s === "email" ? "e-mail" : s))
                .join(", ")}
            </small>
            {incident.clip && <ClipDetails clip={incident.clip} />}
          </li>
        ))}
      </ul>
      {notes.length > 0 && (
        <>
          <h2>camgate's notes</h2>
          <ul class="events notes" data-testid="camera-notes">
            {notes.map((incident) => (
              <li key={incident.id} data-code={incident.code}>
                {incident.code} <time>{new Date(incident.start).toLocaleTimeString()}</time>
                {incident.ongoing ? " (ongoing)" : ""}
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
