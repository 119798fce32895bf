/**
 * FrameHub: one upstream MJPEG connection per (camera, channel, subtype) serving any number of viewers, where
 * the latest frame wins.
 *
 * - The upstream opens on the first viewer and closes a linger after the last one leaves (or stays, with
 *   `preload`).
 * - Each frame's buffer and multipart header are made once and written to every viewer; nothing is copied
 *   per viewer.
 * - A viewer holds at most one pending frame: when its socket cannot take more, a newer frame replaces the
 *   pending one. A slow viewer skips frames; it never delays the others or grows memory.
 * - A new viewer gets the latest frame at once, then live frames; `fps` caps a viewer's rate.
 * - While the upstream is down viewers stay connected, get a "camera offline" picture every 2 s, and get
 *   live frames again as soon as the camera is back.
 */
import type { ServerResponse } from "node:http";
import { MjpegSource } from "../camera/mjpeg.ts";
import type { CameraSession } from "../camera/session.ts";
import { IDLE_BACKOFF_MAX_MS, WATCHED_BACKOFF_MAX_MS } from "../camera/stream-loop.ts";
import { StreamNarrator } from "../camera/stream-narrator.ts";
import type { StreamDown, StreamState } from "../camera/stream-status.ts";
import { formatPartHeader } from "../protocol/multipart.ts";
import { renderOfflineFrame } from "./offline-frame.ts";
import { SharedUpstream } from "./shared-upstream.ts";

export const BOUNDARY = "myboundary";
export const MJPEG_CONTENT_TYPE = `multipart/x-mixed-replace; boundary=${BOUNDARY}`;
const CRLF = Buffer.from("\r\n");

export interface Frame {
  jpeg: Buffer;
  /** `--myboundary ... Content-Length: n` + blank line, made once per frame. */
  header: Buffer;
  receivedAt: number;
  sequence: number;
  offline: boolean;
}

export interface FrameHubOptions {
  cameraId: string;
  cameraName: string;
  session: CameraSession;
  channel: number;
  subtype: number;
  lingerMs: number;
  stallMs: number;
  preload: boolean;
  offlineFrames: boolean;
  offlineIntervalMs?: number;
  /** Told when the upstream stalls (no frame for `stallMs`), for the StreamStalled event. */
  onStall?: (down: StreamDown) => void;
}

interface Viewer {
  res: ServerResponse;
  minIntervalMs: number;
  lastSentAt: number;
  pending: Frame | undefined;
  sent: number;
  dropped: number;
}

export type FrameListener = (frame: Frame) => void;

export interface HubStats {
  camera: string;
  channel: number;
  subtype: number;
  state: StreamState;
  viewers: number;
  framesIn: number;
  framesSent: number;
  framesDropped: number;
  upstreamConnects: number;
  stalls: number;
  lastError: string | undefined;
  latestFrameAgeMs: number | undefined;
}

export function makeFrame(jpeg: Buffer, receivedAt: number, sequence: number, offline = false): Frame {
  return {
    jpeg,
    header: formatPartHeader(BOUNDARY, "image/jpeg", jpeg.length),
    receivedAt,
    sequence,
    offline,
  };
}

export class FrameHub {
  /** Viewers (HTTP answers) and in-process listeners (motion detection) alike hold the upstream open. */
  private readonly upstream: SharedUpstream<Viewer | FrameListener>;
  private readonly viewerSet = new Set<Viewer>();
  private readonly listeners = new Set<FrameListener>();
  private readonly source: MjpegSource;
  private latest: Frame | undefined;
  private sequence = 0;
  private offlineTimer: NodeJS.Timeout | undefined;
  private offlineFrame: Frame | undefined;
  private framesSent = 0;
  private framesDropped = 0;
  private readonly say: StreamNarrator;

  constructor(private readonly options: FrameHubOptions) {
    this.say = new StreamNarrator(options.session, "MJPEG stream", {
      channel: options.channel,
      subtype: options.subtype,
    });
    this.source = new MjpegSource({
      session: options.session,
      channel: options.channel,
      subtype: options.subtype,
      stallMs: options.stallMs,
      onFrame: (frame) => this.publish(makeFrame(frame.jpeg, frame.receivedAt, ++this.sequence)),
      onState: (state, down) => {
        this.onSourceState(state);
        if (state === "live") this.say.live();
        if (down?.code === "stalled") options.onStall?.(down);
      },
      onRetry: (down, retryInMs) => this.say.down(down, retryInMs),
      // A few seconds while anyone watches, a minute while only the preload holds it open.
      backoffMaxMs: () => (this.viewers.size > 0 ? WATCHED_BACKOFF_MAX_MS : IDLE_BACKOFF_MAX_MS),
    });
    this.upstream = new SharedUpstream<Viewer | FrameListener>({
      lingerMs: options.lingerMs,
      preload: options.preload,
      start: () => this.source.start(),
      stop: () => {
        this.source.stop();
        this.stopOfflineFrames();
      },
    });
    this.upstream.openPreloaded();
  }

  private get viewers(): ReadonlySet<Viewer> {
    return this.viewerSet;
  }

  /** The camera is back: a waiting upstream reconnects now rather than after its backoff. */
  retryNow(): void {
    this.source.retryNow();
  }

  /** The latest live frame (not the offline picture), if any. */
  /** The camera is now reached another way (the cluster moved it): the upstream reconnects at once. */
  reconnect(): void {
    this.source.reconnectNow();
  }

  latestFrame(): Frame | undefined {
    return this.latest;
  }

  get isLive(): boolean {
    return this.source.current === "live";
  }

  /** Whether the upstream is open or being opened (it holds, or wants, one of the camera's connections). */
  get isRunning(): boolean {
    return this.source.current !== "idle";
  }

  get lastError() {
    return this.source.lastError;
  }

  /**
   * Serves this hub's stream on `res` (headers already written by the caller) until the client goes away.
   * `fps` caps the viewer's frame rate (0 or undefined: every frame).
   */
  attach(res: ServerResponse, fps?: number): void {
    const viewer: Viewer = {
      res,
      minIntervalMs: fps && fps > 0 ? 1000 / fps : 0,
      lastSentAt: 0,
      pending: undefined,
      sent: 0,
      dropped: 0,
    };
    if (!this.upstream.add(viewer)) {
      res.destroy();
      return;
    }
    this.viewerSet.add(viewer);
    res.on("drain", () => {
      const pending = viewer.pending;
      viewer.pending = undefined;
      if (pending) this.write(viewer, pending);
    });
    res.once("close", () => this.detach(viewer));
    // A new viewer gets the latest frame at once, not at the next upstream frame.
    const first = this.source.current === "live" ? this.latest : this.offlineFrame;
    if (first) this.offer(viewer, first);
    else if (this.source.current === "down") this.startOfflineFrames();
  }

  stats(): HubStats {
    return {
      camera: this.options.cameraId,
      channel: this.options.channel,
      subtype: this.options.subtype,
      state: this.source.current,
      viewers: this.viewers.size,
      framesIn: this.source.framesIn,
      framesSent: this.framesSent,
      framesDropped: this.framesDropped,
      upstreamConnects: this.source.connects,
      stalls: this.source.stalls,
      lastError: this.source.lastError?.message,
      latestFrameAgeMs: this.latest ? Date.now() - this.latest.receivedAt : undefined,
    };
  }

  /** Bytes waiting in each viewer's socket plus its pending frame (for tests and health). */
  viewerBacklogs(): { writable: number; pending: number }[] {
    return [...this.viewers].map((v) => ({
      writable: v.res.writableLength,
      pending: v.pending ? v.pending.jpeg.length : 0,
    }));
  }

  close(): void {
    const viewers = [...this.viewers];
    this.upstream.close();
    this.listeners.clear();
    for (const viewer of viewers) viewer.res.destroy();
  }

  /**
   * Hears every live frame (not the offline picture) until the returned function is called; holds the
   * upstream open like a viewer. A listener that throws is the listener's problem: it is not told again.
   */
  subscribe(listener: FrameListener): () => void {
    if (!this.upstream.add(listener)) return () => undefined;
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      this.upstream.remove(listener);
    };
  }

  private detach(viewer: Viewer): void {
    viewer.pending = undefined;
    this.viewerSet.delete(viewer);
    this.upstream.remove(viewer);
  }

  private publish(frame: Frame): void {
    if (!frame.offline) this.latest = frame;
    // One clock read per frame, not per viewer.
    const now = Date.now();
    for (const viewer of this.viewers) this.offer(viewer, frame, now);
    if (!frame.offline)
      for (const listener of this.listeners) {
        try {
          listener(frame);
        } catch {
          this.listeners.delete(listener);
        }
      }
  }

  private offer(viewer: Viewer, frame: Frame, now = Date.now()): void {
    if (viewer.minIntervalMs > 0 && now - viewer.lastSentAt < viewer.minIntervalMs && !frame.offline) return;
    if (viewer.res.writableNeedDrain) {
      // The socket is full: keep only the newest frame; the one it replaces is dropped.
      if (viewer.pending) {
        viewer.dropped++;
        this.framesDropped++;
      }
      viewer.pending = frame;
      return;
    }
    this.write(viewer, frame, now);
  }

  private write(viewer: Viewer, frame: Frame, now = Date.now()): void {
    const res = viewer.res;
    if (res.destroyed) return;
    viewer.lastSentAt = now;
    viewer.sent++;
    this.framesSent++;
    // Three shared buffers in one writev: header, picture, CRLF. No per-viewer copy.
    res.cork();
    res.write(frame.header);
    res.write(frame.jpeg);
    res.write(CRLF);
    res.uncork();
  }

  private onSourceState(state: StreamState): void {
    if (state === "live") this.stopOfflineFrames();
    else if (state === "down" && this.viewers.size > 0) this.startOfflineFrames();
  }

  private startOfflineFrames(): void {
    if (!this.options.offlineFrames || this.offlineTimer) return;
    const send = async () => {
      if (!this.offlineFrame) {
        const size = this.latest ? sizeOf(this.latest.jpeg) : { width: 640, height: 480 };
        this.offlineFrame = makeFrame(
          await renderOfflineFrame(size.width, size.height, this.options.cameraName),
          Date.now(),
          0,
          true,
        );
      }
      if (this.source.current !== "live" && this.offlineTimer) this.publish(this.offlineFrame);
    };
    this.offlineTimer = setInterval(() => void send(), this.options.offlineIntervalMs ?? 2000);
    void send();
  }

  private stopOfflineFrames(): void {
    if (this.offlineTimer) clearInterval(this.offlineTimer);
    this.offlineTimer = undefined;
  }
}

/** Width and height from a JPEG's SOF marker, without decoding it. */
export function sizeOf(jpeg: Buffer): { width: number; height: number } {
  let pos = 2;
  while (pos + 9 < jpeg.length) {
    if (jpeg[pos] !== 0xff) break;
    const marker = jpeg[pos + 1] as number;
    const length = jpeg.readUInt16BE(pos + 2);
    if (marker >= 0xc0 && marker <= 0xc3)
      return { height: jpeg.readUInt16BE(pos + 5), width: jpeg.readUInt16BE(pos + 7) };
    pos += 2 + length;
  }
  return { width: 640, height: 480 };
}
