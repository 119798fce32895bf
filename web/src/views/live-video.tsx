import { useEffect, useRef, useState } from "preact/hooks";
import { createPlayer, type Player } from "../player/create-player.ts";
import type { PlayerState } from "../player/live-player.ts";

/**
 * How the camera page shows the camera: the main stream over MSE (default), the main stream over WebRTC
 * (lowest delay, and it plays the camera's G.711 audio), the sub-stream over MSE, or MJPEG.
 */
export type LiveMode = "main" | "webrtc" | "sub" | "mjpeg";

const MODES: [LiveMode, string][] = [
  ["main", "Main (MSE)"],
  ["webrtc", "WebRTC"],
  ["sub", "Sub-stream"],
  ["mjpeg", "MJPEG"],
];

export const STATE_TEXT: Record<PlayerState, string> = {
  connecting: "Connecting…",
  playing: "",
  reconnecting: "Reconnecting…",
  failed: "Cannot play",
};

/** `mjpeg`: the camera's MJPEG stream, undefined for a camera without one (an ONVIF camera). */
export function LiveVideo({
  camera,
  name,
  mjpeg,
}: {
  camera: string;
  name: string;
  mjpeg: string | undefined;
}) {
  // `?mode=webrtc` (or sub, mjpeg) opens the page on that mode: links and dashboards can choose.
  const [mode, setMode] = useState<LiveMode>(() => {
    const asked = new URLSearchParams(location.search).get("mode");
    return MODES.some(([value]) => value === asked) ? (asked as LiveMode) : "main";
  });
  const [state, setState] = useState<PlayerState>("connecting");
  const [detail, setDetail] = useState<string | undefined>(undefined);
  const [info, setInfo] = useState<string | undefined>(undefined);
  const [muted, setMuted] = useState(true);
  const [hasAudio, setHasAudio] = useState(false);
  const [showLatency, setShowLatency] = useState(false);
  const [delay, setDelay] = useState<number | undefined>(undefined);
  const video = useRef<HTMLVideoElement>(null);
  const frame = useRef<HTMLDivElement>(null);
  const player = useRef<Player | undefined>(undefined);

  useEffect(() => {
    const element = video.current;
    if (mode === "mjpeg" || !element) return undefined;
    setState("connecting");
    setInfo(undefined);
    const events = {
      onState: (next: PlayerState, why?: string) => {
        setState(next);
        setDetail(why);
      },
      onInfo: setInfo,
      onMime: (mime: string) => setHasAudio(mime.includes("mp4a")),
    };
    setHasAudio(mode === "webrtc");
    const created = createPlayer(element, camera, mode, events);
    player.current = created;
    created.start();
    return () => {
      created.stop();
      player.current = undefined;
    };
  }, [camera, mode]);

  useEffect(() => {
    if (!showLatency) return undefined;
    const timer = setInterval(() => setDelay(player.current?.delay()), 500);
    return () => clearInterval(timer);
  }, [showLatency]);

  const overlay = mode !== "mjpeg" && state !== "playing";
  return (
    <div class="player" ref={frame}>
      <div class="screen" data-state={mode === "mjpeg" ? "playing" : state}>
        {mode === "mjpeg" ? (
          <img src={mjpeg} alt={`${name} live`} width={640} height={480} />
        ) : (
          <video
            ref={video}
            muted={muted}
            autoplay
            playsInline
            aria-label={`${name} live`}
            data-testid="live-video"
          />
        )}
        {overlay && (
          <p class="overlay" role="status" data-testid="player-state">
            {STATE_TEXT[state]}
            {detail && <small>{detail}</small>}
          </p>
        )}
        {showLatency && mode !== "mjpeg" && mode !== "webrtc" && (
          <output class="latency" data-testid="latency">
            {delay === undefined ? "—" : `player buffer ${Math.round(delay * 1000)} ms`}
          </output>
        )}
      </div>
      <div class="controls">
        <fieldset class="modes">
          <legend class="sr-only">Stream</legend>
          {MODES.filter(([value]) => value !== "mjpeg" || mjpeg !== undefined).map(([value, label]) => (
            <button key={value} type="button" aria-pressed={mode === value} onClick={() => setMode(value)}>
              {label}
            </button>
          ))}
        </fieldset>
        {mode !== "mjpeg" && hasAudio && (
          <button type="button" aria-pressed={!muted} onClick={() => setMuted(!muted)}>
            {muted ? "Unmute" : "Mute"}
          </button>
        )}
        <button
          type="button"
          onClick={() => {
            const element = frame.current;
            if (document.fullscreenElement) void document.exitFullscreen();
            else void element?.requestFullscreen?.();
          }}
        >
          Fullscreen
        </button>
        {mode !== "mjpeg" && mode !== "webrtc" && (
          <button type="button" aria-pressed={showLatency} onClick={() => setShowLatency(!showLatency)}>
            Latency
          </button>
        )}
      </div>
      {info && <p class="note">{info}</p>}
    </div>
  );
}
