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
import { StreamSource, type StreamSourceOptions } from "./stream-source.ts";
import { downFromError } from "./stream-status.ts";

export interface UpstreamFrame {
  jpeg: Buffer;
  receivedAt: number;
}

export interface MjpegSourceOptions extends StreamSourceOptions {
  session: CameraSession;
  channel: number;
  subtype: number;
  /** No frame for this long counts as a stall (relay.stallMs). */
  stallMs: number;
  onFrame: (frame: UpstreamFrame) => void;
}

export class MjpegSource extends StreamSource {
  private stream: CameraStream | undefined;
  connects = 0;
  stalls = 0;
  framesIn = 0;

  constructor(private readonly options: MjpegSourceOptions) {
    super(options);
  }

  protected release(): void {
    this.stream?.close();
    this.stream = undefined;
  }

  protected async connect(generation: number): Promise<void> {
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
        this.loop.live();
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
}
