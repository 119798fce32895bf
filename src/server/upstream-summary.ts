/**
 * A camera's long-lived upstreams as its summary shows them (issue 27): each RTSP stream, MJPEG stream and
 * the event stream that is open, being opened or down, with the camera's answer when down. A stream that
 * cannot open is the stream's state, not the camera's health: a wrong RTSP port shows here ("RTSP
 * unreachable"), while the camera whose HTTP answers stays online.
 */
import type { CameraEntry } from "../camera/registry.ts";
import type { StreamState } from "../camera/stream-status.ts";
import type { GatewayContext } from "./context.ts";

export interface UpstreamSummary {
  kind: "rtsp" | "mjpeg" | "events";
  /** `main`, `sub` or the camera path (RTSP); `channel 1 subtype 0` (MJPEG); `events`. */
  name: string;
  state: Exclude<StreamState, "idle">;
  reason?: string;
}

export const upstreamSchema = {
  type: "object",
  properties: {
    kind: { type: "string", enum: ["rtsp", "mjpeg", "events"] },
    name: { type: "string" },
    state: { type: "string", enum: ["connecting", "live", "down"] },
    reason: { type: "string", description: "the camera's answer, while the stream is down" },
  },
  required: ["kind", "name", "state"],
} as const;

function item(
  kind: UpstreamSummary["kind"],
  name: string,
  state: StreamState,
  reason: string | undefined,
): UpstreamSummary[] {
  if (state === "idle") return [];
  return [{ kind, name, state, ...(state === "down" && reason ? { reason } : {}) }];
}

export function upstreamsOf(ctx: GatewayContext, entry: CameraEntry): UpstreamSummary[] {
  const rtsp = ctx.streams
    .list()
    .filter((hub) => hub.camera === entry.id)
    .flatMap((hub) => {
      const stats = hub.stats();
      return item("rtsp", hub.name, stats.state, stats.lastError);
    });
  const mjpeg = ctx.hubs
    .list()
    .map((hub) => ({ hub, stats: hub.stats() }))
    .filter(({ stats }) => stats.camera === entry.id)
    .flatMap(({ stats }) =>
      item("mjpeg", `channel ${stats.channel} subtype ${stats.subtype}`, stats.state, stats.lastError),
    );
  const events = ctx.eventStreams.get(entry.id);
  return [
    ...rtsp,
    ...mjpeg,
    ...(events ? item("events", "events", events.current, events.lastDown?.error.message) : []),
  ];
}
