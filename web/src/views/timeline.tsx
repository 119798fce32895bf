/**
 * A camera's footage on one timeline: camgate's continuous segments and event clips, the camera's own SD card
 * recordings in a lane of their own, and a mark per incident. Click or drag along it (scrubbing) to play from
 * that moment: the player loads an export of the stored footage from there (re-muxed on the server, so it
 * starts at the keyframe at or before the moment), and the download link saves the same range as one MP4.
 * SD card files are the camera's own format (DHAV): they download, they do not play in a browser.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Incident } from "../api.ts";
import { EvidenceExport } from "./evidence-export.tsx";
import { KindOptions } from "./incident-tags.tsx";

interface Recording {
  id: string;
  kind: "clip" | "segment" | "backfill";
  incident: string | null;
  start: string;
  end: string | null;
  durationMs: number | null;
  state: string;
  url: string | null;
}

interface SdFile {
  path: string;
  start: string | null;
  end: string | null;
  bytes: number | null;
  flags: string[];
  events: string[];
  url: string;
}

const SPANS = [
  [600_000, "10 min"],
  [3600_000, "1 h"],
  [6 * 3600_000, "6 h"],
  [24 * 3600_000, "24 h"],
] as const;
/** How much an export played from the cursor covers. */
const PLAY_MS = 3600_000;
/** An incident's mark plays from a little before it started. */
const LEAD_MS = 5000;

const clock = (ms: number) =>
  new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

interface Bar {
  key: string;
  kind: "segment" | "clip" | "sd" | "backfill";
  start: number;
  end: number;
  title: string;
  sd?: SdFile;
}

export function Timeline({ camera }: { camera: string }) {
  // The last 10 minutes first: what owners open the timeline for is what just happened.
  const [span, setSpan] = useState<number>(SPANS[0][0]);
  /** The window's end; undefined follows now. */
  const [pinnedEnd, setPinnedEnd] = useState<number | undefined>(undefined);
  const [now, setNow] = useState(Date.now());
  const [recordings, setRecordings] = useState<Recording[]>([]);
  const [incidents, setIncidents] = useState<Incident[]>([]);
  /** Only these marks: a kind (person, vehicle, ...) and a zone; empty: every incident. */
  const [markKind, setMarkKind] = useState("");
  const [markZone, setMarkZone] = useState("");
  const [sd, setSd] = useState<{ files: SdFile[]; error?: string }>({ files: [] });
  const [cursor, setCursor] = useState<number | undefined>(undefined);
  /** When the cursor was set (an export reaches no further). */
  const [playedAt, setPlayedAt] = useState(Date.now());
  const [scrub, setScrub] = useState<number | undefined>(undefined);
  const [selectedSd, setSelectedSd] = useState<SdFile | undefined>(undefined);
  const [playError, setPlayError] = useState(false);
  const track = useRef<HTMLDivElement>(null);
  const player = useRef<HTMLDivElement>(null);
  const end = pinnedEnd ?? now;
  const start = end - span;

  useEffect(() => {
    if (pinnedEnd !== undefined) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(timer);
  }, [pinnedEnd]);

  useEffect(() => {
    const range = `from=${new Date(start).toISOString()}&to=${new Date(end).toISOString()}`;
    const id = encodeURIComponent(camera);
    void api<{ recordings: Recording[] }>(`/api/v1/cameras/${id}/recordings?${range}`).then(
      (body) => setRecordings(body.recordings),
      () => setRecordings([]),
    );
    const incidentQuery = new URLSearchParams({
      camera,
      since: new Date(start).toISOString(),
      until: new Date(end).toISOString(),
      limit: "200",
      ...(markKind ? { kind: markKind } : {}),
      ...(markZone ? { zone: markZone } : {}),
    });
    void api<{ incidents: Incident[] }>(`/api/v1/incidents?${incidentQuery}`).then(
      (body) => setIncidents(body.incidents),
      () => setIncidents([]),
    );
    void api<{ files: SdFile[] }>(`/api/v1/cameras/${id}/sdcard?${range}`).then(
      (body) => setSd({ files: body.files }),
      (error: Error) => setSd({ files: [], error: error.message }),
    );
  }, [camera, start, end, markKind, markZone]);

  const at = (ms: number) => `${(((ms - start) / span) * 100).toFixed(3)}%`;
  const width = (from: number, to: number) =>
    `max(2px, ${(((Math.min(to, end) - Math.max(from, start)) / span) * 100).toFixed(3)}%)`;
  const timeAt = (clientX: number) => {
    const box = track.current?.getBoundingClientRect();
    if (!box || box.width === 0) return start;
    return start + Math.min(1, Math.max(0, (clientX - box.left) / box.width)) * span;
  };

  const bars: Bar[] = [
    ...recordings
      .filter((r) => r.state === "done" || r.state === "recording")
      .map((r): Bar => {
        const from = Date.parse(r.start);
        return {
          key: r.id,
          kind: r.kind,
          start: from,
          end: r.end ? Date.parse(r.end) : now,
          title: `${r.kind === "clip" ? "Event clip" : r.kind === "backfill" ? "Copied from the SD card" : "Recording"} from ${clock(from)}`,
        };
      }),
    ...sd.files
      .filter((f) => f.start !== null)
      .map((f): Bar => {
        const from = Date.parse(f.start ?? "");
        return {
          key: f.path,
          kind: "sd",
          start: from,
          end: f.end ? Date.parse(f.end) : from,
          title: `On the camera's SD card from ${clock(from)}`,
          sd: f,
        };
      }),
  ];
  const lane = (kind: Bar["kind"]) =>
    bars.filter((bar) => bar.kind === kind && bar.end >= start && bar.start <= end);

  const play = (ms: number) => {
    setPlayedAt(Date.now());
    setCursor(ms);
    setPlayError(false);
    setSelectedSd(undefined);
  };
  const id = encodeURIComponent(camera);
  // Up to the moment of the click at most: the segment being written plays up to its last whole fragment,
  // and a range in the past gives the same export however often the player asks for its bytes.
  const exportUrl =
    cursor === undefined
      ? undefined
      : `/api/v1/cameras/${id}/export.mp4?from=${Math.floor(cursor)}&to=${Math.floor(Math.min(cursor + PLAY_MS, playedAt))}`;
  const shown = scrub ?? cursor;
  // The zones the window's incidents named (and the one chosen, so it stays offered while it filters).
  const zonesSeen = [
    ...new Set([...incidents.flatMap((i) => i.zones), ...(markZone ? [markZone] : [])]),
  ].sort();
  // The player comes into view when a moment is chosen (a muted video off screen does not autoplay).
  useEffect(() => {
    if (exportUrl) player.current?.scrollIntoView({ block: "nearest" });
  }, [exportUrl]);

  return (
    <section class="timeline-view" aria-label="Recordings">
      <h2>Recordings</h2>
      <div class="timeline-controls">
        <button type="button" onClick={() => setPinnedEnd(end - span)}>
          ◀ Earlier
        </button>
        {SPANS.map(([ms, label]) => (
          <button key={label} type="button" aria-pressed={span === ms} onClick={() => setSpan(ms)}>
            {label}
          </button>
        ))}
        <button
          type="button"
          disabled={pinnedEnd === undefined}
          onClick={() => setPinnedEnd(end + span >= Date.now() ? undefined : end + span)}
        >
          Later ▶
        </button>
        <label class="mark-filter">
          Marks
          <select
            value={markKind}
            onChange={(e) => setMarkKind(e.currentTarget.value)}
            data-testid="mark-kind"
          >
            <KindOptions anyWords="every incident" />
          </select>
        </label>
        {zonesSeen.length > 0 && (
          <label class="mark-filter">
            in
            <select
              value={markZone}
              onChange={(e) => setMarkZone(e.currentTarget.value)}
              data-testid="mark-zone"
            >
              <option value="">any zone</option>
              {zonesSeen.map((zone) => (
                <option key={zone}>{zone}</option>
              ))}
            </select>
          </label>
        )}
        <span class="range">
          {new Date(start).toLocaleString()} –{" "}
          {pinnedEnd === undefined ? "now" : new Date(end).toLocaleString()}
        </span>
      </div>
      <div
        class="timeline-track"
        ref={track}
        role="slider"
        tabIndex={0}
        aria-label="Play from this moment"
        aria-valuemin={start}
        aria-valuemax={end}
        aria-valuenow={shown ?? end}
        aria-valuetext={shown === undefined ? "nothing chosen" : new Date(shown).toLocaleString()}
        onPointerDown={(e) => {
          (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
          setScrub(timeAt(e.clientX));
        }}
        onPointerMove={(e) => {
          if (scrub !== undefined) setScrub(timeAt(e.clientX));
        }}
        onPointerUp={(e) => {
          setScrub(undefined);
          play(timeAt(e.clientX));
        }}
        onPointerCancel={() => setScrub(undefined)}
        onKeyDown={(e) => {
          const step = e.key === "ArrowLeft" ? -span / 100 : e.key === "ArrowRight" ? span / 100 : 0;
          if (step !== 0) {
            e.preventDefault();
            play(Math.min(end, Math.max(start, (cursor ?? end) + step)));
          }
        }}
      >
        <div class="lane lane-camgate">
          {lane("segment").map((bar) => (
            <span
              key={bar.key}
              class="bar"
              data-kind="segment"
              title={bar.title}
              style={{ left: at(Math.max(bar.start, start)), width: width(bar.start, bar.end) }}
            />
          ))}
          {lane("backfill").map((bar) => (
            <span
              key={bar.key}
              class="bar"
              data-kind="backfill"
              title={bar.title}
              style={{ left: at(Math.max(bar.start, start)), width: width(bar.start, bar.end) }}
            />
          ))}
          {lane("clip").map((bar) => (
            <span
              key={bar.key}
              class="bar"
              data-kind="clip"
              title={bar.title}
              style={{ left: at(Math.max(bar.start, start)), width: width(bar.start, bar.end) }}
            />
          ))}
          {incidents
            .filter((incident) => Date.parse(incident.start) >= start)
            .map((incident) => (
              <button
                key={incident.id}
                type="button"
                class="mark"
                data-incident={incident.id}
                title={`${incident.code} at ${clock(Date.parse(incident.start))}`}
                aria-label={`${incident.code} at ${clock(Date.parse(incident.start))}: play`}
                style={{ left: at(Date.parse(incident.start)) }}
                onPointerDown={(e) => e.stopPropagation()}
                onPointerUp={(e) => e.stopPropagation()}
                onClick={() => play(Date.parse(incident.start) - LEAD_MS)}
              />
            ))}
        </div>
        <div class="lane lane-sd">
          {lane("sd").map((bar) => (
            <button
              key={bar.key}
              type="button"
              class="bar"
              data-kind="sd"
              title={bar.title}
              style={{ left: at(Math.max(bar.start, start)), width: width(bar.start, bar.end) }}
              onPointerDown={(e) => e.stopPropagation()}
              onPointerUp={(e) => e.stopPropagation()}
              onClick={() => setSelectedSd(bar.sd)}
            />
          ))}
        </div>
        {shown !== undefined && <span class="playhead" style={{ left: at(shown) }} />}
      </div>
      <div class="timeline-axis" aria-hidden="true">
        {[0, 1, 2, 3, 4].map((i) => (
          <span key={i} style={{ left: `${i * 25}%` }}>
            {new Date(start + (span * i) / 4).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}
          </span>
        ))}
      </div>
      <p class="legend">
        <span class="key" data-kind="segment" /> recorded by camgate <span class="key" data-kind="backfill" />{" "}
        copied from the SD card <span class="key" data-kind="clip" /> event clip{" "}
        <span class="key" data-kind="sd" /> on the camera's SD card <span class="key mark-key" /> event
        {sd.error && <span class="sd-error"> · SD card: {sd.error}</span>}
      </p>
      <EvidenceExport camera={camera} window={{ from: start, to: Math.min(end, now) }} />
      {selectedSd && (
        <p class="sd-file">
          On the camera: {selectedSd.start && clock(Date.parse(selectedSd.start))}
          {selectedSd.end && ` – ${clock(Date.parse(selectedSd.end))}`}
          {selectedSd.events.length > 0 && ` (${selectedSd.events.join(", ")})`}{" "}
          <a class="button" href={selectedSd.url} download>
            Download from the camera
          </a>{" "}
          (Dahua's .dav format: VLC and ffmpeg play it)
        </p>
      )}
      {selectedSd?.url.includes(".dav") && (
        // camgate re-muxes the card's DHAV to MP4 as it arrives from the camera, so the browser plays it.
        <video
          key={selectedSd.url}
          class="sd-player"
          data-testid="sd-player"
          src={`${selectedSd.url}&format=mp4`}
          controls
          autoPlay
          muted
          playsInline
        />
      )}
      {exportUrl && cursor !== undefined && (
        <div class="playback" ref={player}>
          <video
            key={exportUrl}
            src={exportUrl}
            controls
            autoPlay
            muted
            playsInline
            onError={() => setPlayError(true)}
          />
          {playError && <p class="error">Nothing recorded by camgate from this moment on.</p>}
          <p>
            From {new Date(cursor).toLocaleString()}{" "}
            <a class="button" href={`${exportUrl}&download=true`} download>
              Download the next hour
            </a>{" "}
            <a class="button" href={`/playback?cameras=${id}&at=${Math.floor(cursor)}`}>
              Side by side with other cameras
            </a>
          </p>
        </div>
      )}
    </section>
  );
}
