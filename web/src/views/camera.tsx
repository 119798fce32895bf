import { useEffect, useState } from "preact/hooks";
import type { PtzDirection, ZoomDirection } from "../../../src/camera/ptz-command.ts";
import { api, type Camera } from "../api.ts";
import { canOperate, isAdmin } from "../state.ts";
import { CameraIncidents } from "./camera-incidents.tsx";
import { Badge } from "./grid.tsx";
import { HealthNotice, StreamNotice } from "./health-notice.tsx";
import { LiveVideo } from "./live-video.tsx";
import { sdCardText } from "./sd-card-text.ts";
import { SecuritySection } from "./security.tsx";
import { TalkButton } from "./talk-button.tsx";
import { Timeline } from "./timeline.tsx";
import { UseElsewhere } from "./use-elsewhere.tsx";

interface Ptz {
  status: { moving: boolean; position?: { pan: number; tilt: number; zoom: number }; presetId?: number };
  presets: { index: number; name: string }[];
}

/** The REST body of POST .../ptz: the gateway's one PTZ vocabulary (src/camera/ptz-command.ts). */
type PtzCommandBody =
  | { action: "move"; direction: PtzDirection; speed?: number }
  | { action: "zoom"; direction: ZoomDirection }
  | { action: "stop"; direction?: PtzDirection | ZoomDirection }
  | { action: "gotoPreset"; preset: number }
  | { action: "setPreset"; preset: number; name?: string };

const PAD: [PtzDirection | "", string, string][] = [
  ["leftup", "↖", "Up left"],
  ["up", "↑", "Up"],
  ["rightup", "↗", "Up right"],
  ["left", "←", "Left"],
  ["", "", ""],
  ["right", "→", "Right"],
  ["leftdown", "↙", "Down left"],
  ["down", "↓", "Down"],
  ["rightdown", "↘", "Down right"],
];
const KEYS: Record<string, PtzDirection> = {
  ArrowUp: "up",
  ArrowDown: "down",
  ArrowLeft: "left",
  ArrowRight: "right",
};

function PtzPad({ id, ptz, reload }: { id: string; ptz: Ptz; reload: () => void }) {
  const send = (body: PtzCommandBody) =>
    api(`/api/v1/cameras/${id}/ptz`, { method: "POST", body }).catch((error: unknown) =>
      // A refused move shows where the pad is; the next press tries again.
      console.warn("PTZ command failed", body, error),
    );
  const hold = (direction: PtzDirection) => ({
    onPointerDown: (e: PointerEvent) => {
      (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
      void send({ action: "move", direction, speed: 5 });
    },
    onPointerUp: () => void send({ action: "stop", direction }).then(reload),
    onPointerCancel: () => void send({ action: "stop", direction }),
  });
  const zoom = (direction: ZoomDirection) => ({
    onPointerDown: () => void send({ action: "zoom", direction }),
    onPointerUp: () => void send({ action: "stop", direction }).then(reload),
    onPointerCancel: () => void send({ action: "stop", direction }),
  });
  return (
    <div class="ptz">
      <fieldset
        class="pad"
        onKeyDown={(e) => {
          const direction = KEYS[e.key];
          if (direction && !e.repeat) {
            e.preventDefault();
            void send({ action: "move", direction, speed: 5 });
          }
        }}
        onKeyUp={(e) => {
          const direction = KEYS[e.key];
          if (direction) void send({ action: "stop", direction }).then(reload);
        }}
      >
        <legend class="sr-only">
          Pan and tilt (hold a button, or the arrow keys while a button has focus)
        </legend>
        {PAD.map(([direction, symbol, label], i) =>
          direction ? (
            <button
              key={direction}
              type="button"
              aria-label={label}
              data-direction={direction}
              {...hold(direction)}
            >
              {symbol}
            </button>
          ) : (
            <span key={`c${i}`} />
          ),
        )}
      </fieldset>
      <div class="zoom">
        <button type="button" aria-label="Zoom in" {...zoom("in")}>
          +
        </button>
        <button type="button" aria-label="Zoom out" {...zoom("out")}>
          −
        </button>
      </div>
      <p class="position" data-testid="position">
        {ptz.status.position
          ? `pan ${ptz.status.position.pan.toFixed(1)}° tilt ${ptz.status.position.tilt.toFixed(1)}° zoom ${ptz.status.position.zoom.toFixed(1)}×`
          : ""}
      </p>
      <div class="presets">
        {ptz.presets.map((p) => (
          <button
            key={p.index}
            type="button"
            onClick={() => void send({ action: "gotoPreset", preset: p.index }).then(reload)}
          >
            {p.name || `Preset ${p.index}`}
          </button>
        ))}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const form = new FormData(e.currentTarget as HTMLFormElement);
            const preset = Math.max(1, ...ptz.presets.map((p) => p.index + 1));
            void send({
              action: "setPreset",
              preset,
              name: String(form.get("name") || `Preset ${preset}`),
            }).then(reload);
          }}
        >
          <input name="name" placeholder="Preset name" aria-label="New preset name" maxLength={32} />
          <button type="submit">Save preset</button>
        </form>
      </div>
    </div>
  );
}

export function CameraView({ id }: { id: string }) {
  const [camera, setCamera] = useState<Camera | undefined>(undefined);
  const [ptz, setPtz] = useState<Ptz | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const loadPtz = () => void api<Ptz>(`/api/v1/cameras/${id}/ptz`).then(setPtz, () => setPtz(undefined));
  useEffect(() => {
    const load = () =>
      void api<Camera>(`/api/v1/cameras/${id}`).then(setCamera, (e: Error) => setError(e.message));
    load();
    loadPtz();
    // Health changes (offline, a refused password, back online) show without a reload.
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, [id]);
  if (error) return <p class="error">{error}</p>;
  const hasPtz = ptz !== undefined && ptz.status.position !== undefined;
  const stream = `/api/v1/cameras/${encodeURIComponent(id)}`;
  // The player starts at once: it needs only the id, not the camera's details (which may take a camera
  // round trip); the rest of the page fills in around it without remounting it.
  return (
    <section class="camera">
      <h1>
        {camera?.name ?? id} {camera && <Badge state={camera.health.state} />}
      </h1>
      <div class="live">
        <LiveVideo
          camera={id}
          name={camera?.name ?? id}
          mjpeg={camera ? camera.links.stream : `${stream}/stream.mjpeg`}
        />
        <a class="button snapshot" href={`${stream}/snapshot.jpg?maxAge=0`} download={`${id}.jpg`}>
          Snapshot
        </a>
      </div>
      {!camera && <p>Loading…</p>}
      {camera && <HealthNotice camera={camera} />}
      {camera && <StreamNotice camera={camera} />}
      {hasPtz && canOperate() && <PtzPad id={id} ptz={ptz} reload={loadPtz} />}
      {canOperate() && (
        <TalkButton camera={id} rang={new URLSearchParams(location.search).get("answer") === "1"} />
      )}
      {camera?.device && (
        <dl class="device">
          <dt>Model</dt>
          <dd>{camera.device.type}</dd>
          <dt>Firmware</dt>
          <dd>{camera.device.softwareVersion}</dd>
          <dt>Serial</dt>
          <dd>{camera.device.serial}</dd>
          {camera.sdCard && (
            <>
              <dt>SD card</dt>
              <dd data-sd-card={camera.sdCard.state}>{sdCardText(camera.sdCard)}</dd>
            </>
          )}
        </dl>
      )}
      {camera && !camera.device && (
        <p class="device-missing">
          Model, firmware and serial show once camgate can reach the camera
          {camera.deviceError ? ` (${camera.deviceError})` : ""}.
        </p>
      )}
      <Timeline camera={id} />
      {isAdmin() && camera?.protocol !== "onvif" && <SecuritySection camera={id} />}
      <CameraIncidents camera={id} />
      {camera && <UseElsewhere camera={camera} />}
    </section>
  );
}
