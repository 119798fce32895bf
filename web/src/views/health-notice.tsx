/**
 * What is wrong with a camera, and what to do, in words: the state the API reports (`health`), with a live
 * countdown while camgate waits before it tries a refused password again (so the camera does not lock the
 * owner out). Nothing is shown while the camera is fine.
 */
import { useEffect, useState } from "preact/hooks";
import type { Camera } from "../api.ts";

/** A badge's words for a health state. */
export function stateLabel(state: string): string {
  if (state === "auth-failed") return "wrong password";
  if (state === "unknown") return "connecting";
  return state;
}

function countdown(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${String(seconds % 60).padStart(2, "0")} s` : `${seconds} s`;
}

export function HealthNotice({ camera }: { camera: Camera }) {
  const [now, setNow] = useState(Date.now());
  const { health } = camera;
  const retryAt = health.retryAt ? Date.parse(health.retryAt) : undefined;
  useEffect(() => {
    if (retryAt === undefined) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [retryAt]);
  if (health.state === "auth-failed" && health.cause === "locked-out") {
    const left = retryAt === undefined ? 0 : retryAt - now;
    return (
      <div class="notice error" role="alert" data-health="locked-out">
        <strong>Locked out.</strong> The camera refused the password that worked: it has most likely locked
        camgate's address out after failed logins, or its password was changed on the camera.{" "}
        {left > 0 ? (
          <>
            camgate makes no attempt for <span class="countdown">{countdown(left)}</span>, until the lock
            should have ended;
          </>
        ) : (
          <>camgate tries again with the next request;</>
        )}{" "}
        if the password changed, fix <code>{health.fix ?? `cameras.${camera.id}.password`}</code> and reload
        the config.
      </div>
    );
  }
  if (health.state === "auth-failed") {
    const left = retryAt === undefined ? 0 : retryAt - now;
    return (
      <div class="notice error" role="alert" data-health="auth-failed">
        <strong>Wrong password.</strong>{" "}
        {left > 0 ? (
          <>
            camgate stopped trying for <span class="countdown">{countdown(left)}</span> so the camera does not
            lock you out;
          </>
        ) : (
          <>camgate tries the password again with the next request;</>
        )}{" "}
        fix <code>{health.fix ?? `cameras.${camera.id}.password`}</code> in camgate.yaml and reload the config
        (<code>systemctl reload camgate</code> or SIGHUP).
      </div>
    );
  }
  if (health.state === "offline")
    return (
      <div class="notice error" role="alert" data-health="offline">
        <strong>Camera offline</strong>
        {health.reason ? `: ${health.reason}.` : "."} camgate keeps trying and the picture comes back by
        itself; check the camera's power and network.
      </div>
    );
  if (health.state === "busy")
    return (
      <div class="notice warn" role="status" data-health="busy">
        <strong>Camera busy</strong>: {health.reason ?? "all of camgate's connections to it are in use"}.
        Requests wait for a free connection; raise <code>cameras.{camera.id}.maxConnections</code> if this
        lasts.
      </div>
    );
  return null;
}

const KIND_LABEL = { rtsp: "RTSP stream", mjpeg: "MJPEG stream", events: "Event stream" } as const;

/**
 * The camera's streams that are down while the camera itself answers: a wrong RTSP port or a stream the
 * camera refuses is the stream's trouble, said with the camera's answer, not "check the power".
 */
export function StreamNotice({ camera }: { camera: Camera }) {
  if (camera.health.state !== "online") return null;
  const down = (camera.upstreams ?? []).filter((upstream) => upstream.state === "down");
  if (down.length === 0) return null;
  return (
    <div class="notice warn" role="status" data-health="stream-down">
      <strong>The camera answers, but not every stream plays.</strong>
      <ul>
        {down.map((upstream) => (
          <li key={`${upstream.kind} ${upstream.name}`}>
            {KIND_LABEL[upstream.kind]}
            {upstream.kind === "events" ? "" : ` ${upstream.name}`}: {upstream.reason ?? "down"}
          </li>
        ))}
      </ul>
      camgate tries again by itself, waiting longer after each failure so the camera is not hammered; check
      the camera's stream settings
      {down.some((upstream) => upstream.kind === "rtsp") && (
        <>
          {" "}
          and <code>cameras.{camera.id}.rtsp.port</code> in camgate.yaml
        </>
      )}
      .
    </div>
  );
}
