/**
 * Prometheus metrics, one registry per gateway instance (no module state): upstream calls, errors by code,
 * latency per camera, budget in use and queued, queue waits, health, and front-door auth failures.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CameraErrorCode } from "../camera/errors.ts";
import type { CameraRegistry } from "../camera/registry.ts";
import type { HubRegistry } from "../relay/hub-registry.ts";
import type { StreamHub } from "../relay/stream-hub.ts";
import type { StreamHubs } from "../relay/stream-hubs.ts";
import type { CamgateRtspServer } from "./rtsp/rtsp-server.ts";

const HEALTH_VALUES = ["unknown", "online", "offline", "auth-failed", "busy"] as const;

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly calls: Counter<"camera" | "outcome">;
  readonly callSeconds: Histogram<"camera">;
  readonly frontDoorFailures: Counter<"reason">;

  constructor() {
    this.calls = new Counter({
      name: "camgate_camera_calls_total",
      help: "Calls to cameras through their sessions, by outcome (ok or the CameraError code).",
      labelNames: ["camera", "outcome"],
      registers: [this.registry],
    });
    this.callSeconds = new Histogram({
      name: "camgate_camera_call_seconds",
      help: "Time from a call's start (queue included) to its response headers.",
      labelNames: ["camera"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.frontDoorFailures = new Counter({
      name: "camgate_auth_failures_total",
      help: "Failed authentications at the gateway's front door.",
      labelNames: ["reason"],
      registers: [this.registry],
    });
  }

  /** A session's `onCall` hook for this camera. */
  callObserver(camera: string): (outcome: { code: CameraErrorCode | "ok"; ms: number }) => void {
    return ({ code, ms }) => {
      this.calls.inc({ camera, outcome: code });
      this.callSeconds.observe({ camera }, ms / 1000);
    };
  }

  /** Gauges read from the sessions when scraped. */
  watch(cameras: CameraRegistry): void {
    const registers = [this.registry];
    new Gauge({
      name: "camgate_upstream_requests_total",
      help: "HTTP requests sent to each camera (challenges and retries included).",
      labelNames: ["camera"],
      registers,
      collect() {
        for (const entry of cameras.list())
          this.set({ camera: entry.id }, entry.session.stats.upstreamRequests);
      },
    });
    new Gauge({
      name: "camgate_budget_in_use",
      help: "Upstream connections in use per camera.",
      labelNames: ["camera"],
      registers,
      collect() {
        for (const entry of cameras.list()) this.set({ camera: entry.id }, entry.session.budget.inUse);
      },
    });
    new Gauge({
      name: "camgate_budget_max",
      help: "The connection budget per camera (maxConnections).",
      labelNames: ["camera"],
      registers,
      collect() {
        for (const entry of cameras.list()) this.set({ camera: entry.id }, entry.session.budget.max);
      },
    });
    new Gauge({
      name: "camgate_budget_queued",
      help: "Requests waiting for a connection per camera.",
      labelNames: ["camera"],
      registers,
      collect() {
        for (const entry of cameras.list()) this.set({ camera: entry.id }, entry.session.budget.queued);
      },
    });
    new Gauge({
      name: "camgate_budget_wait_seconds_total",
      help: "Total time requests waited for a connection per camera.",
      labelNames: ["camera"],
      registers,
      collect() {
        for (const entry of cameras.list())
          this.set({ camera: entry.id }, entry.session.budget.waitedMsTotal / 1000);
      },
    });
    new Gauge({
      name: "camgate_camera_health",
      help: "1 for the camera's current health state.",
      labelNames: ["camera", "state"],
      registers,
      collect() {
        for (const entry of cameras.list()) {
          const state = entry.session.getHealth().state;
          for (const value of HEALTH_VALUES)
            this.set({ camera: entry.id, state: value }, value === state ? 1 : 0);
        }
      },
    });
  }

  /** Relay gauges: viewers and frames per stream hub. */
  watchRelay(hubs: HubRegistry): void {
    const registers = [this.registry];
    const labelNames = ["camera", "channel", "subtype"] as const;
    const each = (
      gauge: Gauge<(typeof labelNames)[number]>,
      value: (s: ReturnType<HubRegistry["stats"]>[number]) => number,
    ) => {
      for (const stats of hubs.stats()) {
        gauge.set(
          { camera: stats.camera, channel: String(stats.channel), subtype: String(stats.subtype) },
          value(stats),
        );
      }
    };
    new Gauge({
      name: "camgate_relay_viewers",
      help: "Viewers per stream hub.",
      labelNames,
      registers,
      collect() {
        each(this, (s) => s.viewers);
      },
    });
    new Gauge({
      name: "camgate_relay_frames_in_total",
      help: "Frames received from the camera per hub.",
      labelNames,
      registers,
      collect() {
        each(this, (s) => s.framesIn);
      },
    });
    new Gauge({
      name: "camgate_relay_frames_sent_total",
      help: "Frames written to viewers per hub.",
      labelNames,
      registers,
      collect() {
        each(this, (s) => s.framesSent);
      },
    });
    new Gauge({
      name: "camgate_relay_frames_dropped_total",
      help: "Frames skipped for slow viewers per hub.",
      labelNames,
      registers,
      collect() {
        each(this, (s) => s.framesDropped);
      },
    });
    new Gauge({
      name: "camgate_relay_upstream_connects_total",
      help: "Upstream stream connections opened per hub.",
      labelNames,
      registers,
      collect() {
        each(this, (s) => s.upstreamConnects);
      },
    });
    new Gauge({
      name: "camgate_relay_stalls_total",
      help: "Upstream stalls detected per hub.",
      labelNames,
      registers,
      collect() {
        each(this, (s) => s.stalls);
      },
    });
  }

  /** H.264/H.265 stream gauges (one RTSP session per stream) and camgate's RTSP server. */
  watchStreams(streams: StreamHubs, rtsp: CamgateRtspServer | undefined): void {
    const registers = [this.registry];
    const perStream: [string, string, (hub: StreamHub) => number | undefined][] = [
      [
        "camgate_stream_live",
        "1 while the camera's stream is live.",
        (hub) => (hub.state === "live" ? 1 : 0),
      ],
      [
        "camgate_stream_consumers",
        "Outputs fed by the stream (RTSP and others).",
        (hub) => hub.stats().consumers,
      ],
      ["camgate_stream_rtsp_viewers", "RTSP viewers of the stream.", (hub) => rtsp?.viewersOf(hub) ?? 0],
      ["camgate_stream_units_total", "Access units received from the camera.", (hub) => hub.stats().unitsIn],
      ["camgate_stream_bitrate_bits", "Bits per second, over the last second.", (hub) => hub.stats().bitrate],
      ["camgate_stream_fps", "Pictures per second, over the last second.", (hub) => hub.stats().fps],
      [
        "camgate_stream_upstream_connects_total",
        "RTSP sessions opened to the camera for the stream.",
        (hub) => hub.stats().upstreamConnects,
      ],
      [
        "camgate_stream_timestamp_jumps_total",
        "Camera timestamps re-stamped onto camgate's timeline.",
        (hub) => hub.stats().timestampJumps,
      ],
      [
        "camgate_stream_dropped_total",
        "Pictures lost to gaps in the camera's RTP.",
        (hub) => hub.stats().droppedUpstream,
      ],
    ];
    for (const [name, help, value] of perStream)
      new Gauge({
        name,
        help,
        labelNames: ["camera", "stream"],
        registers,
        collect() {
          this.reset();
          for (const hub of streams.list()) {
            const v = value(hub);
            if (v !== undefined) this.set({ camera: hub.camera, stream: hub.name }, v);
          }
        },
      });
    const perCamera: [string, string, (id: string) => number][] = [
      [
        "camgate_rtsp_sessions_in_use",
        "The camera's RTSP sessions camgate holds.",
        (id) => streams.registry.get(id)?.rtspBudget.inUse ?? 0,
      ],
      [
        "camgate_rtsp_sessions_max",
        "The camera's RTSP sessions camgate may hold (rtsp.maxSessions).",
        (id) => streams.registry.get(id)?.rtspBudget.max ?? 0,
      ],
    ];
    for (const [name, help, value] of perCamera)
      new Gauge({
        name,
        help,
        labelNames: ["camera"],
        registers,
        collect() {
          for (const entry of streams.registry.list()) this.set({ camera: entry.id }, value(entry.id));
        },
      });
    if (!rtsp) return;
    const server: [string, string, () => number][] = [
      [
        "camgate_rtsp_connections_total",
        "Connections to camgate's RTSP server.",
        () => rtsp.stats.connections,
      ],
      [
        "camgate_rtsp_refused_total",
        "RTSP requests refused for want of authentication.",
        () => rtsp.stats.refused,
      ],
      [
        "camgate_rtsp_skipped_units_total",
        "Access units not sent to RTSP viewers that had fallen behind (each resumed at a keyframe).",
        () => rtsp.stats.skipped,
      ],
    ];
    for (const [name, help, value] of server)
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
  }
}
