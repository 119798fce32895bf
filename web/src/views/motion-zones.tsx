/**
 * A camera's motion detection in camgate, for admins (Config → camgate → a camera's "Motion…"): on or off,
 * whether it confirms the camera's motion or stands in for it, and the zones and masks drawn on a fresh
 * picture of the camera. A click adds a corner; "Finish" closes the polygon (three corners at least). The
 * corners are fractions of the picture (0..1), so the same zones fit any stream size. Saved to camgate.yaml
 * and applied without reconnecting the camera.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.ts";

type Point = [number, number];

interface Settings {
  enabled: boolean;
  use: "confirm" | "detect";
  zones: { name: string; points: Point[] }[];
  masks: Point[][];
}

interface Status {
  state: string;
  picturesAnalysed: number;
  meanMs: number;
  lightChanges: number;
  episodes: number;
  lastMotionAt: string | null;
}

interface Loaded {
  editable: boolean;
  settings: Settings;
  status: Status | null;
}

type Drawing = { kind: "zone"; name: string; points: Point[] } | { kind: "mask"; points: Point[] };

const points = (polygon: Point[]) => polygon.map(([x, y]) => `${x},${y}`).join(" ");

export function MotionZones({ camera, onClose }: { camera: string; onClose: () => void }) {
  const [loaded, setLoaded] = useState<Loaded | undefined>(undefined);
  const [settings, setSettings] = useState<Settings | undefined>(undefined);
  const [drawing, setDrawing] = useState<Drawing | undefined>(undefined);
  const [zoneName, setZoneName] = useState("");
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  // A picture taken when the editor opens, not a cached one: the zones are drawn on what the camera sees now.
  const [picture] = useState(
    () => `/api/v1/cameras/${encodeURIComponent(camera)}/snapshot.jpg?maxAge=0&t=${Date.now()}`,
  );
  const frame = useRef<HTMLButtonElement>(null);
  const path = `/api/v1/config/cameras/${encodeURIComponent(camera)}/motion`;

  useEffect(() => {
    void api<Loaded>(path).then(
      (body) => {
        setLoaded(body);
        setSettings({
          enabled: body.settings.enabled,
          use: body.settings.use,
          zones: body.settings.zones,
          masks: body.settings.masks,
        });
      },
      (e: Error) => setError(e.message),
    );
  }, [path]);

  if (error && !settings) return <p class="error">{error}</p>;
  if (!settings || !loaded) return <p>Loading…</p>;

  const addCorner = (e: MouseEvent) => {
    const box = frame.current?.getBoundingClientRect();
    if (!drawing || !box || box.width === 0 || box.height === 0) return;
    const round = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000;
    const corner: Point = [
      round((e.clientX - box.left) / box.width),
      round((e.clientY - box.top) / box.height),
    ];
    setDrawing({ ...drawing, points: [...drawing.points, corner] });
  };
  const finish = () => {
    if (!drawing || drawing.points.length < 3) return;
    if (drawing.kind === "zone")
      setSettings({
        ...settings,
        zones: [...settings.zones, { name: drawing.name, points: drawing.points }],
      });
    else setSettings({ ...settings, masks: [...settings.masks, drawing.points] });
    setDrawing(undefined);
    setZoneName("");
  };
  const save = () => {
    setBusy(true);
    setError(undefined);
    void api(path, { method: "PUT", body: settings })
      .then(
        () => setNotice("Saved: camgate applies it now, without reconnecting the camera"),
        (e: Error) => setError(e.message),
      )
      .finally(() => setBusy(false));
  };
  const nameTaken = settings.zones.some((zone) => zone.name === zoneName.trim());
  const status = loaded.status;

  return (
    <section class="motion-zones" aria-label={`Motion detection of ${camera}`} data-camera={camera}>
      <header>
        <h3>Motion detection in camgate: {camera}</h3>
        <button type="button" class="link" onClick={onClose}>
          Close
        </button>
      </header>
      <p class="muted">
        camgate looks at the camera's small stream a few times a second. Zones name where something moved (a
        notification can be limited to them); masks are never looked at (a road, a tree, the clock).
      </p>
      <label>
        <input
          type="checkbox"
          checked={settings.enabled}
          onChange={(e) => setSettings({ ...settings, enabled: e.currentTarget.checked })}
        />{" "}
        Detect motion in camgate
      </label>{" "}
      <label>
        Use
        <select
          value={settings.use}
          onChange={(e) => setSettings({ ...settings, use: e.currentTarget.value as Settings["use"] })}
        >
          <option value="confirm">to confirm the camera's motion</option>
          <option value="detect">as the camera's motion (its own is off or poor)</option>
        </select>
      </label>
      {status && (
        <p class="muted" data-testid="motion-status">
          {status.state} · {status.picturesAnalysed} pictures looked at, {status.meanMs} ms each ·{" "}
          {status.episodes} episodes · {status.lightChanges} changes of light
        </p>
      )}
      {/* A button the size of the picture: a click (or a tap) adds a corner where it lands. */}
      <button
        type="button"
        class={`zone-frame${drawing ? " drawing" : ""}`}
        ref={frame}
        onClick={addCorner}
        aria-label="The camera's picture: click to add a corner"
      >
        <img src={picture} alt={`What ${camera} sees now`} draggable={false} />
        <svg viewBox="0 0 1 1" preserveAspectRatio="none" aria-hidden="true">
          {settings.masks.map((mask, i) => (
            <polygon key={`m${i}`} class="mask" points={points(mask)} data-mask={i} />
          ))}
          {settings.zones.map((zone) => (
            <polygon key={zone.name} class="zone" points={points(zone.points)} data-zone={zone.name} />
          ))}
          {drawing && (
            <polyline
              class={`drawing-${drawing.kind}`}
              points={points(drawing.points)}
              data-testid="drawing"
            />
          )}
        </svg>
      </button>
      <div class="actions">
        {drawing ? (
          <>
            <span>
              {drawing.kind === "zone" ? `Zone ${drawing.name}` : "Mask"}: {drawing.points.length} corners
            </span>{" "}
            <button type="button" disabled={drawing.points.length < 3} onClick={finish}>
              Finish
            </button>{" "}
            <button type="button" onClick={() => setDrawing(undefined)}>
              Cancel
            </button>
          </>
        ) : (
          <>
            <label>
              Zone name
              <input
                value={zoneName}
                maxLength={40}
                pattern="[A-Za-z0-9 _.\-]{1,40}"
                onInput={(e) => setZoneName(e.currentTarget.value)}
              />
            </label>{" "}
            <button
              type="button"
              disabled={zoneName.trim() === "" || nameTaken || settings.zones.length >= 16}
              onClick={() => setDrawing({ kind: "zone", name: zoneName.trim(), points: [] })}
            >
              Draw a zone
            </button>{" "}
            <button
              type="button"
              disabled={settings.masks.length >= 16}
              onClick={() => setDrawing({ kind: "mask", points: [] })}
            >
              Draw a mask
            </button>
          </>
        )}
      </div>
      <ul class="zone-list">
        {settings.zones.map((zone) => (
          <li key={zone.name} data-zone={zone.name}>
            Zone <strong>{zone.name}</strong> ({zone.points.length} corners){" "}
            <button
              type="button"
              class="link"
              onClick={() => setSettings({ ...settings, zones: settings.zones.filter((z) => z !== zone) })}
            >
              Remove
            </button>
          </li>
        ))}
        {settings.masks.map((mask, i) => (
          <li key={`mask-${points(mask)}`} data-mask={i}>
            Mask {i + 1} ({mask.length} corners){" "}
            <button
              type="button"
              class="link"
              onClick={() => setSettings({ ...settings, masks: settings.masks.filter((m) => m !== mask) })}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && <p class="notice done">{notice}</p>}
      <button
        type="button"
        class="primary"
        disabled={busy || !loaded.editable || drawing !== undefined}
        onClick={save}
      >
        Save
      </button>
      {!loaded.editable && (
        <p class="muted">camgate runs without a config file (the demo): nothing can be saved.</p>
      )}
    </section>
  );
}
