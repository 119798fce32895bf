/**
 * Prometheus metrics, one registry per gateway instance (no module state): upstream calls, errors by code,
 * latency per camera, budget in use and queued, queue waits, health, and front-door auth failures.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CameraErrorCode } from "../camera/errors.ts";
import type { CameraRegistry } from "../camera/registry.ts";
import type { ClusterCoordinator } from "../cluster/coordinator.ts";
import type { HubRegistry } from "../relay/hub-registry.ts";
import type { StreamHubs } from "../relay/stream-hubs.ts";
import type { CamgateRtspServer } from "./rtsp/rtsp-server.ts";
import type { WebRtcSessions } from "./webrtc/sessions.ts";

export interface ClusterMetricsSource {
  cameras: CameraRegistry;
  coordinator: () => { stats: ClusterCoordinator["stats"] } | undefined;
  relayed: () => number;
}

const HEALTH_VALUES = ["unknown", "online", "offline", "auth-failed", "busy"] as const;

/**
 * A counter whose count lives elsewhere (a stats field), read when scraped: typed as a counter (Prometheus
 * rates it, and promtool refuses `_total` on a gauge).
 */
function counterOf<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  registers: Registry[],
  read: (add: (labels: Partial<Record<L, string>>, value: number) => void) => void,
): Counter<L> {
  return new Counter<L>({
    name,
    help,
    labelNames,
    registers,
    collect() {
      this.reset();
      read((labels, value) => this.inc(labels, Math.max(0, value)));
    },
  });
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly calls: Counter<"camera" | "outcome">;
  readonly callSeconds: Histogram<"camera">;
  readonly frontDoorFailures: Counter<"reason">;
  readonly httpRequests: Counter<"server" | "method" | "route" | "status">;
  readonly events: Counter<"camera" | "source" | "code">;
  readonly deliveries: Counter<"target" | "outcome">;

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
    this.httpRequests = new Counter({
      name: "camgate_http_requests_total",
      help: "HTTP requests answered, by server (main or a camera's passthrough), method, route template and status.",
      labelNames: ["server", "method", "route", "status"],
      registers: [this.registry],
    });
    this.events = new Counter({
      name: "camgate_events_total",
      help: "Events stored, by camera, source (camera, email, gateway) and code.",
      labelNames: ["camera", "source", "code"],
      registers: [this.registry],
    });
    this.deliveries = new Counter({
      name: "camgate_deliveries_total",
      help: "Delivery attempts by target (webhook:<name>, mqtt) and outcome (delivered, retry, dead).",
      labelNames: ["target", "outcome"],
      registers: [this.registry],
    });
  }

  /** Counts stored events and delivery outcomes. */
  watchEvents(
    subscribe: (listener: (event: { camera: string; source: string; code: string }) => void) => () => void,
    onOutcome: (listener: (target: string, outcome: string) => void) => () => void,
  ): void {
    subscribe((event) => this.events.inc({ camera: event.camera, source: event.source, code: event.code }));
    onOutcome((target, outcome) => this.deliveries.inc({ target, outcome }));
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
    counterOf(
      "camgate_upstream_requests_total",
      "HTTP requests sent to each camera (challenges and retries included).",
      ["camera"],
      registers,
      (add) => {
        for (const entry of cameras.list()) add({ camera: entry.id }, entry.session.stats.upstreamRequests);
      },
    );
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
    counterOf(
      "camgate_budget_wait_seconds_total",
      "Total time requests waited for a connection per camera.",
      ["camera"],
      registers,
      (add) => {
        for (const entry of cameras.list())
          add({ camera: entry.id }, entry.session.budget.waitedMsTotal / 1000);
      },
    );
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

  /**
   * This instance's part in a cluster (`storage.postgres`): whether it owns each camera or reaches it
   * through its owner, its heartbeats and ownership changes, and the events relayed between instances.
   * Each instance exports its own; Prometheus's `instance` label tells them apart.
   */
  watchCluster(cluster: ClusterMetricsSource): void {
    const registers = [this.registry];
    new Gauge({
      name: "camgate_cluster_instances",
      help: "Live camgate instances sharing the cameras, as the last heartbeat saw them.",
      registers,
      collect() {
        this.set(cluster.coordinator()?.stats.instances ?? 0);
      },
    });
    new Gauge({
      name: "camgate_cluster_camera_owned",
      help: "1 for a camera this instance owns (it opens the camera's sessions), 0 for one reached through its owner.",
      labelNames: ["camera"],
      registers,
      collect() {
        for (const entry of cluster.cameras.list())
          this.set({ camera: entry.id }, entry.session.route ? 0 : 1);
      },
    });
    new Gauge({
      name: "camgate_cluster_heartbeat_age_seconds",
      help: "Time since this instance's last heartbeat reached the database.",
      registers,
      collect() {
        const at = cluster.coordinator()?.stats.lastBeatAt ?? 0;
        if (at > 0) this.set((Date.now() - at) / 1000);
      },
    });
    counterOf(
      "camgate_cluster_heartbeat_failures_total",
      "Heartbeats that could not reach the database.",
      [],
      registers,
      (add) => add({}, cluster.coordinator()?.stats.failedBeats ?? 0),
    );
    counterOf(
      "camgate_cluster_ownership_changes_total",
      "Cameras this instance took (gained) or gave up (lost).",
      ["change"],
      registers,
      (add) => {
        add({ change: "gained" }, cluster.coordinator()?.stats.gained ?? 0);
        add({ change: "lost" }, cluster.coordinator()?.stats.lost ?? 0);
      },
    );
    counterOf(
      "camgate_cluster_events_relayed_total",
      "Other instances' events brought to this one's live feeds.",
      [],
      registers,
      (add) => add({}, cluster.relayed()),
    );
  }

  /** The event store's refusals: attempts made again (a database restart) and events given up on. */
  watchEventStore(publisher: { retried: number; lost: number }): void {
    counterOf(
      "camgate_event_store_retries_total",
      "Event stores the database refused and that were tried again.",
      [],
      [this.registry],
      (add) => add({}, publisher.retried),
    );
    counterOf(
      "camgate_events_lost_total",
      "Events given up on after the database refused them for a minute.",
      [],
      [this.registry],
      (add) => add({}, publisher.lost),
    );
  }

  /** Relay metrics: viewers and frames per MJPEG hub. */
  watchRelay(hubs: HubRegistry): void {
    type Stats = ReturnType<HubRegistry["stats"]>[number];
    const labels = (stats: Stats) => ({
      camera: stats.camera,
      channel: String(stats.channel),
      subtype: String(stats.subtype),
    });
    this.perItem(["camera", "channel", "subtype"], () => hubs.stats(), labels, [
      ["camgate_relay_viewers", "Viewers per stream hub.", (s) => s.viewers],
      ["camgate_relay_frames_in_total", "Frames received from the camera per hub.", (s) => s.framesIn],
      ["camgate_relay_frames_sent_total", "Frames written to viewers per hub.", (s) => s.framesSent],
      [
        "camgate_relay_frames_dropped_total",
        "Frames skipped for slow viewers per hub.",
        (s) => s.framesDropped,
      ],
      [
        "camgate_relay_upstream_connects_total",
        "Upstream stream connections opened per hub.",
        (s) => s.upstreamConnects,
      ],
      ["camgate_relay_stalls_total", "Upstream stalls detected per hub.", (s) => s.stalls],
    ]);
  }

  /** H.264/H.265 stream metrics (one RTSP session per stream) and camgate's RTSP server. */
  watchStreams(
    streams: StreamHubs,
    rtsp: CamgateRtspServer | undefined,
    webrtc: WebRtcSessions | undefined,
  ): void {
    const items = () => streams.list().map((hub) => ({ hub, stats: hub.stats() }));
    this.perItem(["camera", "stream"], items, ({ hub }) => ({ camera: hub.camera, stream: hub.name }), [
      [
        "camgate_stream_live",
        "1 while the camera's stream is live.",
        ({ stats }) => (stats.state === "live" ? 1 : 0),
      ],
      [
        "camgate_stream_consumers",
        "Outputs fed by the stream (RTSP and others).",
        ({ stats }) => stats.consumers,
      ],
      ["camgate_stream_rtsp_viewers", "RTSP viewers of the stream.", ({ hub }) => rtsp?.viewersOf(hub) ?? 0],
      [
        "camgate_stream_mse_viewers",
        "MSE (WebSocket fMP4) viewers of the stream.",
        ({ hub }) => streams.fmp4.viewersOf(hub),
      ],
      [
        "camgate_stream_webrtc_viewers",
        "WebRTC viewers of the stream.",
        ({ hub }) => webrtc?.viewersOf(hub) ?? 0,
      ],
      [
        "camgate_stream_bytes_per_second",
        "The stream's rate over the last second.",
        ({ stats }) => (stats.bitrate === undefined ? undefined : stats.bitrate / 8),
      ],
      ["camgate_stream_fps", "Pictures per second, over the last second.", ({ stats }) => stats.fps],
      ["camgate_stream_units_total", "Access units received from the camera.", ({ stats }) => stats.unitsIn],
      [
        "camgate_stream_received_bytes_total",
        "Video bytes (NAL units) received from the camera.",
        ({ stats }) => stats.bytesIn,
      ],
      [
        "camgate_stream_upstream_connects_total",
        "RTSP sessions opened to the camera for the stream.",
        ({ stats }) => stats.upstreamConnects,
      ],
      [
        "camgate_stream_timestamp_jumps_total",
        "Camera timestamps re-stamped onto camgate's timeline.",
        ({ stats }) => stats.timestampJumps,
      ],
      [
        "camgate_stream_dropped_total",
        "Pictures lost to gaps in the camera's RTP.",
        ({ stats }) => stats.droppedUpstream,
      ],
    ]);
    this.perItem(
      ["camera"],
      () => streams.registry.list(),
      (entry) => ({ camera: entry.id }),
      [
        [
          "camgate_rtsp_sessions_in_use",
          "The camera's RTSP sessions camgate holds.",
          (e) => e.rtspBudget.inUse,
        ],
        [
          "camgate_rtsp_sessions_max",
          "The camera's RTSP sessions camgate may hold (rtsp.maxSessions).",
          (e) => e.rtspBudget.max,
        ],
      ],
    );
    this.perItem(
      [],
      () => [streams.fmp4],
      () => ({}),
      [
        [
          "camgate_mse_skipped_fragments_total",
          "fMP4 fragments not sent to MSE viewers that had fallen behind (each resumed at a keyframe).",
          (feeds) => feeds.skippedFragments,
        ],
      ],
    );
    if (webrtc)
      this.perItem(
        ["reason"],
        () => Object.entries(webrtc.ended).map(([reason, count]) => ({ reason, count })),
        ({ reason }) => ({ reason }),
        [["camgate_webrtc_sessions_ended_total", "WebRTC sessions ended, by reason.", (row) => row.count]],
      );
    if (!rtsp) return;
    this.perItem(
      [],
      () => [rtsp.stats],
      () => ({}),
      [
        ["camgate_rtsp_connections_total", "Connections to camgate's RTSP server.", (s) => s.connections],
        ["camgate_rtsp_refused_total", "RTSP requests refused for want of authentication.", (s) => s.refused],
        [
          "camgate_rtsp_skipped_units_total",
          "Access units not sent to RTSP viewers that had fallen behind (each resumed at a keyframe).",
          (s) => s.skipped,
        ],
      ],
    );
  }

  /** The security audit's findings per camera and severity (the last report of each camera). */
  /** Each camera's storage projection (docs/recording.md, "Storage you can reason about"). */
  watchStorage(
    cameras: () => readonly {
      camera: string;
      bytesPerDay: number | null;
      keptDays: number;
      projectedDays: number | null;
      short: boolean;
    }[],
  ): void {
    this.perItem(["camera"], cameras, (c) => ({ camera: c.camera }), [
      // Base units, as Prometheus wants them: bytes a second, seconds.
      [
        "camgate_recording_written_bytes_per_second",
        "Continuous footage a camera writes (measured over the last week of it).",
        (c) => (c.bytesPerDay === null ? undefined : c.bytesPerDay / 86_400),
      ],
      [
        "camgate_recording_kept_seconds",
        "Age of a camera's oldest continuous footage kept.",
        (c) => c.keptDays * 86_400,
      ],
      [
        "camgate_recording_projected_seconds",
        "How long the retention rules keep a camera's continuous footage at its rate.",
        (c) => (c.projectedDays === null ? undefined : c.projectedDays * 86_400),
      ],
      [
        "camgate_recording_retention_short",
        "1 when a camera keeps less than its recording.minDays.",
        (c) => (c.short ? 1 : 0),
      ],
    ]);
  }

  watchAudit(
    reports: () => readonly { camera: string; counts: Record<string, number>; error?: unknown }[],
  ): void {
    const severities = ["critical", "high", "medium", "low", "info"];
    this.perItem(
      ["camera", "severity"],
      () => reports().flatMap((report) => severities.map((severity) => ({ report, severity }))),
      ({ report, severity }) => ({ camera: report.camera, severity }),
      [
        [
          "camgate_audit_findings",
          "Security audit findings per camera and severity, from its last audit (docs/security.md).",
          ({ report, severity }) => report.counts[severity] ?? 0,
        ],
      ],
    );
    this.perItem(["camera"], reports, (report) => ({ camera: report.camera }), [
      ["camgate_audit_failed", "1 when the camera's last audit could not read it.", (r) => (r.error ? 1 : 0)],
    ]);
  }

  /**
   * One metric per row, read from `items()` when scraped: names ending in `_total` are counters, the rest
   * gauges; an undefined value leaves the series out.
   */
  private perItem<T, L extends string>(
    labelNames: readonly L[],
    items: () => readonly T[],
    labelsOf: (item: T) => Partial<Record<L, string>>,
    rows: [name: string, help: string, value: (item: T) => number | undefined][],
  ): void {
    const registers = [this.registry];
    for (const [name, help, value] of rows) {
      const read = (add: (labels: Partial<Record<L, string>>, value: number) => void) => {
        for (const item of items()) {
          const v = value(item);
          if (v !== undefined) add(labelsOf(item), v);
        }
      };
      if (name.endsWith("_total")) counterOf(name, help, labelNames, registers, read);
      else
        new Gauge<L>({
          name,
          help,
          labelNames,
          registers,
          collect() {
            this.reset();
            read((labels, v) => this.set(labels, v));
          },
        });
    }
  }
}
