/**
 * "Use elsewhere": where other programs reach this camera through camgate, each with a copy button (VLC and
 * NVRs by RTSP, Home Assistant, Frigate and go2rtc by the snippets they take, ONVIF clients, existing apps on
 * the camera's own port), and signed links for programs that cannot send a password: a snapshot or an RTSP
 * URL that works without credentials until it expires. Nothing here holds the user's password: snippets
 * say PASSWORD where it goes.
 */
import { useState } from "preact/hooks";
import { api, type Camera } from "../api.ts";
import { session } from "../state.ts";

const LIFETIMES = [
  [3600, "1 hour"],
  [86_400, "1 day"],
  [7 * 86_400, "7 days"],
] as const;

/** Copies `text`; where the clipboard API is not allowed (plain HTTP off this machine) the old way. */
async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

function CopyRow({ label, value, note }: { label: string; value: string; note?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="elsewhere-row" data-elsewhere={label}>
      <div class="elsewhere-label">{label}</div>
      <code class="elsewhere-value">{value}</code>
      <button
        type="button"
        onClick={() =>
          void copy(value).then((ok) => {
            setCopied(ok);
            if (ok) setTimeout(() => setCopied(false), 2000);
          })
        }
      >
        {copied ? "Copied" : "Copy"}
      </button>
      {note && <div class="elsewhere-note muted">{note}</div>}
    </div>
  );
}

/** `rtsp://host:8554/id` with `user:PASSWORD@` in it, for snippets. */
function withUser(url: string, user: string): string {
  return url.replace(/^(rtsps?:\/\/)/, `$1${encodeURIComponent(user)}:PASSWORD@`);
}

export function UseElsewhere({ camera }: { camera: Camera }) {
  const [lifetime, setLifetime] = useState<number>(86_400);
  const [signed, setSigned] = useState<{
    snapshot?: string;
    rtsp?: string;
    hls?: string;
    expiresAt?: string;
  }>({});
  const [error, setError] = useState<string | undefined>(undefined);
  const links = camera.links;
  const user = session.value?.user ?? "USER";
  const origin = window.location.origin;
  const snapshot = `${origin}${links.snapshot}`;
  const sign = (kind: "snapshot" | "rtsp" | "hls") => {
    setError(undefined);
    const body =
      kind === "snapshot"
        ? { path: links.snapshot, expiresIn: lifetime }
        : kind === "hls"
          ? { path: `/api/v1/cameras/${encodeURIComponent(camera.id)}/hls/index.m3u8`, expiresIn: lifetime }
          : { path: `/${camera.id}`, method: "RTSP", expiresIn: lifetime };
    void api<{ url: string; expiresAt: string }>("/api/v1/signed-urls", { method: "POST", body }).then(
      (answer) => setSigned((before) => ({ ...before, [kind]: answer.url, expiresAt: answer.expiresAt })),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  };
  const rtsp = links.rtsp ? withUser(links.rtsp, user) : undefined;
  const rtspSub = links.rtspSub ? withUser(links.rtspSub, user) : undefined;
  return (
    <details class="use-elsewhere" data-testid="use-elsewhere">
      <summary>Use elsewhere</summary>
      {error && <p class="error">{error}</p>}
      {links.rtsp ? (
        <>
          <CopyRow
            label="RTSP, main stream"
            value={links.rtsp}
            note="VLC, an NVR: with a camgate user and password"
          />
          {links.rtspSub && <CopyRow label="RTSP, sub stream" value={links.rtspSub} />}
        </>
      ) : (
        <p class="muted">
          camgate's RTSP server is off: set <code>server.rtsp</code> to use this camera in VLC, Frigate or
          go2rtc.
        </p>
      )}
      <CopyRow label="Snapshot" value={snapshot} note="with a camgate user and password" />
      {links.onvif && <CopyRow label="ONVIF" value={links.onvif} note="an ONVIF client or NVR" />}
      {links.cameraPort && (
        <CopyRow
          label="The camera's own port"
          value={links.cameraPort}
          note="apps made for the camera: change only its address to this"
        />
      )}
      {links.rtspCameraPort && <CopyRow label="The camera's RTSP port" value={links.rtspCameraPort} />}
      <div class="elsewhere-signed">
        <label>
          Links without a password, valid for{" "}
          <select
            value={lifetime}
            onChange={(e) => setLifetime(Number((e.target as HTMLSelectElement).value))}
          >
            {LIFETIMES.map(([seconds, label]) => (
              <option key={seconds} value={seconds}>
                {label}
              </option>
            ))}
          </select>
        </label>{" "}
        <button type="button" onClick={() => sign("snapshot")}>
          Make a snapshot link
        </button>{" "}
        {links.rtsp && (
          <button type="button" onClick={() => sign("rtsp")}>
            Make an RTSP link
          </button>
        )}{" "}
        <button type="button" onClick={() => sign("hls")}>
          Make an HLS link
        </button>
      </div>
      {signed.snapshot && (
        <CopyRow
          label="Signed snapshot"
          value={signed.snapshot}
          note={`works without a password until ${new Date(signed.expiresAt ?? "").toLocaleString()}; Home Assistant's "Still image URL"`}
        />
      )}
      {signed.rtsp && (
        <CopyRow
          label="Signed RTSP"
          value={signed.rtsp}
          note={`works without a password until ${new Date(signed.expiresAt ?? "").toLocaleString()}`}
        />
      )}
      {signed.hls && (
        <CopyRow
          label="Signed HLS"
          value={signed.hls}
          note={`a TV, Safari, VLC or a smart display plays it without a password until ${new Date(signed.expiresAt ?? "").toLocaleString()} (the player keeps its session while it plays)`}
        />
      )}
      {rtsp && (
        <>
          <CopyRow
            label="Home Assistant, Generic Camera"
            value={`Still image URL: ${signed.snapshot ?? snapshot}\nStream source: ${rtsp}`}
            note="Settings → Devices & services → Add integration → Generic Camera"
          />
          <CopyRow
            label="Frigate"
            value={`cameras:\n  ${camera.id}:\n    ffmpeg:\n      inputs:\n        - path: ${rtsp}\n          roles: [record]\n        - path: ${rtspSub ?? rtsp}\n          roles: [detect]`}
          />
          <CopyRow label="go2rtc" value={`streams:\n  ${camera.id}: ${rtsp}`} />
        </>
      )}
    </details>
  );
}
