/**
 * One upstream `mjpg/video.cgi` connection (per camera, channel and subtype), through the camera's session and
 * budget. It parses frames as they arrive (by Content-Length, so a frame is passed on as soon as its bytes are
 * in), watches for stalls (no frame for `stallMs`), and reconnects with backoff (1 s doubling to 30 s) after
 * stalls, errors and camera reboots, until stopped.
 */
import { boundaryFromContentType, MultipartParser } from "../protocol/multipart.ts";
import { CameraApi } from "./api.ts";
import { CameraError } from "./errors.ts";
import type { CameraSession, CameraStream } from "./session.ts";

export interface UpstreamFrame {
  jpeg: Buffer;
  receivedAt: number;
}

export type SourceState = "idle" | "connecting" | "live" | "down";

export interface MjpegSourceOptions {
  session: CameraSession;
  channel: number;
  subtype: number;
  /** No frame for this long counts as a stall (default 5 s). */
  stallMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  onFrame: (frame: UpstreamFrame) => void;
  onState?: (state: SourceState, reason: string | undefined) => void;
}

export class MjpegSource {
  private state: SourceState = "idle";
  private stream: CameraStream | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private running = false;
  /** Incremented per connection, so late events of an old connection are ignored. */
  private generation = 0;
  lastError: CameraError | undefined;
  connects = 0;
  stalls = 0;
  framesIn = 0;

  constructor(private readonly options: MjpegSourceOptions) {
    this.backoffMs = options.backoffMinMs ?? 1000;
  }

  get current(): SourceState {
    return this.state;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.clearStall();
    this.stream?.close();
    this.stream = undefined;
    this.setState("idle", undefined);
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    this.setState("connecting", undefined);
    const stallMs = this.options.stallMs ?? 5000;
    let stream: CameraStream;
    try {
      stream = await this.options.session.stream({
        target: CameraApi.mjpegTarget(this.options.channel, this.options.subtype),
        priority: "interactive",
        timeouts: { bodyMs: stallMs },
      });
    } catch (error) {
      if (generation !== this.generation) return;
      return this.fail(
        error instanceof CameraError
          ? error
          : new CameraError("bad-response", this.options.session.id, String(error)),
      );
    }
    if (generation !== this.generation) {
      stream.close();
      return;
    }
    if (stream.status !== 200 || !/multipart/i.test(String(stream.headers["content-type"] ?? ""))) {
      stream.close();
      // A stream not set to MJPEG answers with an error body (400/501) instead of frames.
      return this.fail(
        new CameraError(
          stream.status === 200 ? "bad-response" : "unsupported",
          this.options.session.id,
          `mjpg/video.cgi answered ${stream.status} ${String(stream.headers["content-type"] ?? "")}`,
          { status: stream.status },
        ),
      );
    }
    this.stream = stream;
    this.connects++;
    const parser = new MultipartParser({
      boundary: boundaryFromContentType(String(stream.headers["content-type"])) ?? "myboundary",
      maxPartBytes: 8 * 1024 * 1024,
    });
    this.armStall(generation, stallMs);
    stream.body.on("data", (chunk: Buffer) => {
      if (generation !== this.generation) return;
      let parts: ReturnType<MultipartParser["push"]>;
      try {
        parts = parser.push(chunk);
      } catch (error) {
        return this.fail(
          new CameraError("bad-response", this.options.session.id, `broken MJPEG stream: ${String(error)}`),
        );
      }
      for (const part of parts) {
        if (part.body[0] !== 0xff || part.body[1] !== 0xd8) continue;
        this.framesIn++;
        if (this.state !== "live") this.setState("live", undefined);
        this.backoffMs = this.options.backoffMinMs ?? 1000;
        this.armStall(generation, stallMs);
        this.options.onFrame({ jpeg: part.body, receivedAt: Date.now() });
      }
    });
    const ended = (reason: string) => {
      if (generation !== this.generation) return;
      this.fail(new CameraError("unreachable", this.options.session.id, reason));
    };
    stream.body.once("error", (error: Error) => ended(`stream error: ${error.message}`));
    stream.body.once("end", () => ended("the camera ended the stream"));
    stream.body.once("close", () => ended("the stream closed"));
  }

  private armStall(generation: number, stallMs: number): void {
    this.clearStall();
    if (stallMs <= 0) return;
    this.stallTimer = setTimeout(() => {
      if (generation !== this.generation) return;
      this.stalls++;
      this.fail(new CameraError("timeout", this.options.session.id, `no frame for ${stallMs} ms (stalled)`));
    }, stallMs);
  }

  private clearStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private fail(error: CameraError): void {
    this.generation++;
    this.clearStall();
    this.stream?.close();
    this.stream = undefined;
    this.lastError = error;
    if (!this.running) return;
    this.setState("down", error.message);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoffMaxMs ?? 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running) void this.connect();
    }, delay);
  }

  private setState(state: SourceState, reason: string | undefined): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onState?.(state, reason);
  }
}
