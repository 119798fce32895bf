/**
 * The live wall: every camera the user may see, playing its sub-stream (small, cheap for the camera and the
 * browser; each stream is one camera session whoever watches). A click on a picture focuses that camera: its
 * tile spans the wall and plays the main stream; a second click, or Escape, goes back. Group tabs
 * (`cameras[].groups`) narrow the wall; Full screen shows it alone, tiles sized to fill the screen. The
 * group and the focused camera are in the address (`/?group=Outside&focus=front`), so a wall display can
 * open on them.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Camera } from "../api.ts";
import { canPlayLive, createPlayer } from "../player/create-player.ts";
import type { PlayerState } from "../player/live-player.ts";
import { cameras, events, go } from "../state.ts";
import { stateLabel } from "./health-notice.tsx";
import { STATE_TEXT } from "./live-video.tsx";
import { securitySummary } from "./security.tsx";

export function Badge({ state }: { state: string }) {
  return <span class={`badge ${state}`}>{stateLabel(state)}</span>;
}

/** Findings of medium severity or worse (admins only get `security`). */
const serious = (counts: Record<string, number> | undefined) =>
  counts !== undefined && ["critical", "high", "medium"].some((s) => (counts[s] ?? 0) > 0);

const ALL = "";

/** What the address says: the group shown and the focused camera. */
function readAddress(): { group: string; focus: string | undefined } {
  const query = new URLSearchParams(location.search);
  return { group: query.get("group") ?? ALL, focus: query.get("focus") ?? undefined };
}

function writeAddress(group: string, focus: string | undefined): void {
  const query = new URLSearchParams();
  if (group) query.set("group", group);
  if (focus) query.set("focus", focus);
  const search = query.toString();
  history.replaceState(null, "", `${location.pathname}${search ? `?${search}` : ""}`);
}

export function groupsOf(list: Camera[]): string[] {
  return [...new Set(list.flatMap((camera) => camera.groups ?? []))].sort((a, b) => a.localeCompare(b));
}

export function GridView() {
  const list = cameras.value;
  const [{ group, focus }, setView] = useState(readAddress);
  // The bar goes full screen with the tiles: on a touch screen its button is the way back.
  const frame = useRef<HTMLDivElement>(null);
  const [fullscreen, setFullscreen] = useState(false);
  const groups = groupsOf(list);
  const shown = list.filter((camera) => group === ALL || (camera.groups ?? []).includes(group));
  const focused = shown.some((camera) => camera.id === focus) ? focus : undefined;
  const show = (nextGroup: string, nextFocus: string | undefined) => {
    writeAddress(nextGroup, nextFocus);
    setView({ group: nextGroup, focus: nextFocus });
  };
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && focused) show(group, undefined);
    };
    const onFullscreen = () => setFullscreen(document.fullscreenElement === frame.current);
    addEventListener("keydown", onKey);
    document.addEventListener("fullscreenchange", onFullscreen);
    return () => {
      removeEventListener("keydown", onKey);
      document.removeEventListener("fullscreenchange", onFullscreen);
    };
  }, [group, focused]);
  return (
    <section class="wall-view">
      <h1>Cameras</h1>
      <div class="wall-frame" ref={frame}>
        <div class="wall-bar">
          {groups.length > 0 && (
            <fieldset class="groups" data-testid="groups">
              <legend class="sr-only">Group</legend>
              {[ALL, ...groups].map((name) => (
                <button
                  key={name}
                  type="button"
                  aria-pressed={group === name}
                  onClick={() => show(name, undefined)}
                >
                  {name || "All"}
                </button>
              ))}
            </fieldset>
          )}
          {shown.length > 0 && (
            <button
              type="button"
              onClick={() => {
                if (document.fullscreenElement) void document.exitFullscreen();
                else void frame.current?.requestFullscreen?.();
              }}
            >
              {fullscreen ? "Leave full screen" : "Full screen"}
            </button>
          )}
        </div>
        <ul
          class="grid wall"
          data-focused={focused ?? undefined}
          style={{ "--columns": String(Math.max(1, Math.ceil(Math.sqrt(shown.length)))) }}
        >
          {shown.map((camera) => (
            <WallTile
              key={camera.id}
              camera={camera}
              focused={camera.id === focused}
              onToggle={() => show(group, camera.id === focused ? undefined : camera.id)}
            />
          ))}
        </ul>
      </div>
      {list.length === 0 && <p>No cameras you may see.</p>}
      {list.length > 0 && shown.length === 0 && <p>No camera in this group.</p>}
    </section>
  );
}

function WallTile({ camera, focused, onToggle }: { camera: Camera; focused: boolean; onToggle: () => void }) {
  const latest = events.value.find((e) => e.camera === camera.id);
  const stream = focused ? "main" : "sub";
  return (
    <li class="tile" data-camera={camera.id} data-focused={focused || undefined}>
      <button
        type="button"
        class="screen"
        aria-label={focused ? `${camera.name}: back to the wall` : `${camera.name}: focus (main stream)`}
        onClick={onToggle}
      >
        <TilePicture camera={camera} stream={stream} />
      </button>
      <span class="caption">
        <a href={`/camera/${camera.id}`} onClick={go(`/camera/${camera.id}`)}>
          <strong>{camera.name}</strong>
        </a>{" "}
        <Badge state={camera.health.state} />
        {serious(camera.security?.counts) && (
          <span class="badge security" data-testid="security-badge" title="Security findings (camera page)">
            {securitySummary(camera.security?.counts)}
          </span>
        )}
        <small>
          {latest
            ? `${latest.code} ${latest.action} · ${new Date(latest.receivedAt).toLocaleTimeString()}`
            : "no events yet"}
        </small>
      </span>
    </li>
  );
}

/**
 * The tile's moving picture: the stream over MSE (or the browser's own HLS), muted. A browser that plays
 * neither gets the camera's MJPEG at 2 fps, or its snapshot taken again every 2 s (an ONVIF camera).
 */
function TilePicture({ camera, stream }: { camera: Camera; stream: "main" | "sub" }) {
  const video = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState<PlayerState>("connecting");
  const [playable, setPlayable] = useState(true);
  useEffect(() => {
    const element = video.current;
    if (!element) return undefined;
    if (!canPlayLive(element)) {
      setPlayable(false);
      return undefined;
    }
    setState("connecting");
    const player = createPlayer(element, camera.id, stream, { onState: (next) => setState(next) });
    player.start();
    return () => player.stop();
  }, [camera.id, stream]);
  if (!playable)
    return camera.links.stream ? (
      <img src={`${camera.links.stream}?fps=2`} alt={`${camera.name} live`} width={640} height={480} />
    ) : (
      <SnapshotTile src={camera.links.snapshot} alt={`${camera.name} live`} />
    );
  return (
    <>
      <video
        ref={video}
        muted
        autoplay
        playsInline
        aria-label={`${camera.name} live`}
        data-stream={stream}
        data-state={state}
      />
      {state !== "playing" && (
        <span class="overlay" role="status">
          {STATE_TEXT[state]}
        </span>
      )}
    </>
  );
}

/** For a browser without MSE or HLS: the snapshot, taken again every 2 s (one shared camera call). */
function SnapshotTile({ src, alt }: { src: string; alt: string }) {
  const [round, setRound] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setRound((n) => n + 1), 2000);
    return () => clearInterval(timer);
  }, []);
  return <img src={`${src}?maxAge=2000&r=${round}`} alt={alt} width={640} height={480} />;
}
