/**
 * One upstream `mjpg/video.cgi` connection (per camera, channel and subtype), through the camera's session and
 * budget. It parses frames as they arrive (by Content-Length, so a frame is passed on as soon as its bytes are
 * in), watches for stalls (no frame for `stallMs`), and reconnects with backoff (1 s doubling to 30 s) after
 * stalls, errors and camera reboots, until stopped.
 */
import { boundaryFromContentType, MultipartParser } from "../protocol/multipart.ts";
import { CameraApi } from "./api.ts";
import { CameraError } from "./errors.ts";
import { ReconnectLoop } from "./reconnect.ts";
import type { CameraSession, CameraStream } from "./session.ts";
import { downFromError, type StreamDown, type StreamState } from "./stream-status.ts";

export interface UpstreamFrame {
  jpeg: Buffer;
  receivedAt: number;
}

export interface MjpegSourceOptions {
  session: CameraSession;
  channel: number;
  subtype: number;
  /** No frame for this long counts as a stall (relay.stallMs). */
  stallMs: number;
  backoffMinMs?: number;
  backoffMaxMs?: number | (() => number);
  /** The stream went down and is tried again in `retryInMs` (for one log line per change of reason). */
  onRetry?: (down: StreamDown, retryInMs: number) => void;
  onFrame: (frame: UpstreamFrame) => void;
  /** State changes; `down` says why when the state is `down`. */
  onState?: (state: StreamState, down: StreamDown | undefined) => void;
}

export class MjpegSource {
  private state: StreamState = "idle";
  private stream: CameraStream | undefined;
  private readonly loop: ReconnectLoop;
  lastError: CameraError | undefined;
  connects = 0;
  stalls = 0;
  framesIn = 0;

  constructor(private readonly options: MjpegSourceOptions) {
    this.loop = new ReconnectLoop({
      connect: (generation) => this.connect(generation),
      onDown: (down, retryInMs) => {
        this.setState("down", down);
        this.options.onRetry?.(down, retryInMs);
      },
      release: () => {
        this.stream?.close();
        this.stream = undefined;
      },
      ...(options.backoffMinMs !== undefined ? { backoffMinMs: options.backoffMinMs } : {}),
      ...(options.backoffMaxMs !== undefined ? { backoffMaxMs: options.backoffMaxMs } : {}),
    });
  }

  get current(): StreamState {
    return this.state;
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
    this.setState("idle", undefined);
  }

  /** The camera is back (its session went online): reconnect now rather than after the backoff. */
  retryNow(): void {
    this.loop.retryNow();
  }

  /** The way to the camera changed: this connection ends and the next is made now. */
  reconnectNow(): void {
    this.loop.restart();
  }

  private fail(down: StreamDown): void {
    this.lastError = down.error;
    this.loop.fail(down);
  }

  private async connect(generation: number): Promise<void> {
    this.setState("connecting", undefined);
    const camera = this.options.session.id;
    const stallMs = this.options.stallMs;
    let stream: CameraStream;
    try {
      stream = await this.options.session.stream({
        target: CameraApi.mjpegTarget(this.options.channel, this.options.subtype),
        priority: "interactive",
        timeouts: { bodyMs: stallMs },
      });
    } catch (error) {
      if (this.loop.isCurrent(generation)) this.fail(downFromError(error, camera));
      return;
    }
    if (!this.loop.isCurrent(generation)) {
      stream.close();
      return;
    }
    const type = String(stream.headers["content-type"] ?? "");
    if (stream.status !== 200 || !/multipart/i.test(type)) {
      stream.close();
      // A stream not set to MJPEG answers with an error body (400/501) instead of frames.
      const code = stream.status === 200 ? "bad-response" : "unsupported";
      return this.fail({
        code: "refused",
        error: new CameraError(code, camera, `mjpg/video.cgi answered ${stream.status} ${type}`, {
          status: stream.status,
        }),
      });
    }
    this.stream = stream;
    this.connects++;
    const parser = new MultipartParser({
      boundary: boundaryFromContentType(type) ?? "myboundary",
      maxPartBytes: 8 * 1024 * 1024,
    });
    const stalled = () => {
      this.stalls++;
      this.fail({ code: "stalled", error: new CameraError("timeout", camera, `no frame for ${stallMs} ms`) });
    };
    this.loop.watch(generation, stallMs, stalled);
    stream.body.on("data", (chunk: Buffer) => {
      if (!this.loop.isCurrent(generation)) return;
      let parts: ReturnType<MultipartParser["push"]>;
      try {
        parts = parser.push(chunk);
      } catch (error) {
        return this.fail({
          code: "malformed",
          error: new CameraError("bad-response", camera, `broken MJPEG stream: ${String(error)}`),
        });
      }
      for (const part of parts) {
        if (part.body[0] !== 0xff || part.body[1] !== 0xd8) continue;
        this.framesIn++;
        if (this.state !== "live") this.setState("live", undefined);
        this.loop.succeeded();
        this.loop.watch(generation, stallMs, stalled);
        this.options.onFrame({ jpeg: part.body, receivedAt: Date.now() });
      }
    });
    const ended = (reason: string) => {
      if (this.loop.isCurrent(generation))
        this.fail({ code: "ended", error: new CameraError("unreachable", camera, reason) });
    };
    stream.body.once("error", (error: Error) => ended(`stream error: ${error.message}`));
    stream.body.once("end", () => ended("the camera ended the stream"));
    stream.body.once("close", () => ended("the stream closed"));
  }

  private setState(state: StreamState, down: StreamDown | undefined): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onState?.(state, down);
  }
}
