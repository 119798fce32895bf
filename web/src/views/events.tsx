/**
 * The timeline: incidents (one per thing that happened: start, end or "ongoing", duration, the sources that
 * saw it) from /api/v1/incidents, filtered on the server by camera, code and time range, paged back with
 * "Older" through everything stored. New events arriving over SSE refresh the first page.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type Incident } from "../api.ts";
import { cameras, events } from "../state.ts";
import { IncidentTags, KindOptions } from "./incident-tags.tsx";
import { IncidentView } from "./incident-view.tsx";

const KNOWN_CODES = [
  "VideoMotion",
  "SmartMotionHuman",
  "SmartMotionVehicle",
  "CrossLineDetection",
  "CrossRegionDetection",
  "VideoBlind",
  "VideoLoss",
  "AlarmLocal",
  "AudioMutation",
  "CameraOffline",
  "CameraOnline",
  "AuthFailed",
  "CameraRebooted",
  "ConfigChanged",
];

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = Math.round(ms / 1000);
  return seconds < 120 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

interface Filters {
  camera: string;
  code: string;
  kind: string;
  zone: string;
  since: string;
  until: string;
}

function query(filters: Filters, cursor?: string) {
  const params = new URLSearchParams({ limit: "50" });
  if (filters.camera) params.set("camera", filters.camera);
  if (filters.code) params.set("code", filters.code);
  if (filters.kind) params.set("kind", filters.kind);
  if (filters.zone.trim()) params.set("zone", filters.zone.trim());
  if (filters.since) params.set("since", new Date(filters.since).toISOString());
  if (filters.until) params.set("until", new Date(filters.until).toISOString());
  if (cursor) params.set("cursor", cursor);
  return `/api/v1/incidents?${params}`;
}

export function EventsView() {
  // `?kind=person&zone=Driveway`: a filter linked to (the camera page's timeline links here).
  const [filters, setFilters] = useState<Filters>(() => {
    const linked = new URLSearchParams(location.search);
    return {
      camera: linked.get("camera") ?? "",
      code: "",
      kind: linked.get("kind") ?? "",
      zone: linked.get("zone") ?? "",
      since: "",
      until: "",
    };
  });
  // `?incident=<id>`: the incident a notification's tap opens, shown above the list.
  const [focused, setFocused] = useState(() => new URLSearchParams(location.search).get("incident") ?? "");
  const [pages, setPages] = useState<{ incidents: Incident[]; nextCursor?: string }>({ incidents: [] });
  const [error, setError] = useState<string | undefined>(undefined);
  const newest = events.value[0]?.id;
  // The first page again whenever the filters change or a new event arrives (its incident may be new, or
  // an ongoing one may have ended); older pages stay as loaded.
  useEffect(() => {
    let current = true;
    api<{ incidents: Incident[]; nextCursor?: string }>(query(filters)).then(
      (page) => {
        if (current) setPages(page);
      },
      (e: Error) => setError(e.message),
    );
    return () => {
      current = false;
    };
  }, [filters.camera, filters.code, filters.kind, filters.zone, filters.since, filters.until, newest]);
  const older = () => {
    if (!pages.nextCursor) return;
    void api<{ incidents: Incident[]; nextCursor?: string }>(query(filters, pages.nextCursor)).then((page) =>
      setPages({
        incidents: [...pages.incidents, ...page.incidents],
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      }),
    );
  };
  const set = (key: keyof typeof filters) => (e: Event) =>
    setFilters({ ...filters, [key]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const codes = [...new Set([...KNOWN_CODES, ...events.value.map((e) => e.code)])].sort();
  return (
    <section>
      <h1>Events</h1>
      <div class="filters">
        <label>
          Camera
          <select value={filters.camera} onChange={set("camera")}>
            <option value="">all</option>
            {cameras.value.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          What
          <select value={filters.kind} onChange={set("kind")} data-testid="kind-filter">
            <KindOptions anyWords="anything" />
          </select>
        </label>
        <label>
          Zone
          <input
            type="search"
            value={filters.zone}
            onInput={set("zone")}
            list="known-zones"
            placeholder="any"
            size={10}
            data-testid="zone-filter"
          />
          <datalist id="known-zones">
            {[...new Set(pages.incidents.flatMap((i) => i.zones))].map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
        </label>
        <label>
          Code
          <select value={filters.code} onChange={set("code")}>
            <option value="">all</option>
            {codes.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={filters.since} onChange={set("since")} />
        </label>
        <label>
          To
          <input type="datetime-local" value={filters.until} onChange={set("until")} />
        </label>
      </div>
      {focused && (
        <IncidentView
          id={focused}
          onClose={() => {
            history.replaceState(null, "", "/events");
            setFocused("");
          }}
        />
      )}
      {error && <p class="error">{error}</p>}
      <ol class="timeline" aria-live="polite">
        {pages.incidents.map((incident) => (
          <li
            key={incident.id}
            class={`source-${incident.sources[0] ?? "camera"}`}
            data-code={incident.code}
            data-incident={incident.id}
          >
            <time>{new Date(incident.start).toLocaleString()}</time>
            <span class="what">
              <a
                href={`/events?incident=${incident.id}`}
                onClick={(e) => {
                  e.preventDefault();
                  history.replaceState(null, "", `/events?incident=${incident.id}`);
                  setFocused(incident.id);
                  scrollTo({ top: 0 });
                }}
              >
                <strong>{incident.code}</strong>
              </a>{" "}
              · {incident.camera}
              {incident.channel > 0 && ` · channel ${incident.channel + 1}`}
            </span>
            <span class="duration">
              {incident.ongoing ? "ongoing" : incident.durationMs ? duration(incident.durationMs) : ""}
            </span>
            <IncidentTags incident={incident} />
            <span class="sources">
              {incident.sources.map((source) => (
                <span key={source} class={`tag tag-${source}`}>
                  {source === "camera" ? "event stream" : source === "email" ? "e-mail" : "camgate"}
                </span>
              ))}
            </span>
            {incident.clip && <ClipDetails clip={incident.clip} />}
            {incident.snapshotEvent && (
              <a
                href={`/api/v1/events/${incident.snapshotEvent}/snapshot.jpg`}
                target="_blank"
                rel="noreferrer"
              >
                <img
                  class="thumb"
                  src={`/api/v1/events/${incident.snapshotEvent}/snapshot.jpg`}
                  alt={`${incident.code} snapshot`}
                  width={96}
                  height={72}
                  loading="lazy"
                />
              </a>
            )}
          </li>
        ))}
      </ol>
      {pages.incidents.length === 0 && <p>No events.</p>}
      {pages.nextCursor && (
        <button type="button" class="older" onClick={older}>
          Older
        </button>
      )}
    </section>
  );
}

/**
 * An incident's clip, loaded only once opened: the list would otherwise fetch every clip's start (tens of MB
 * on a phone) when the page opens (issue 32).
 */
export function ClipDetails({ clip }: { clip: string }) {
  const [open, setOpen] = useState(false);
  return (
    <details class="clip" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>Clip</summary>
      {open && (
        // biome-ignore lint/a11y/useMediaCaption: camera footage has no captions
        <video controls preload="metadata" src={clip} width={480} />
      )}
      <a href={clip} download>
        Download
      </a>
    </details>
  );
}
