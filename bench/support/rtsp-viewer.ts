/**
 * An RTSP viewer for benchmarks: DESCRIBE, SETUP (video, TCP), PLAY, then counts bytes and pictures (marker
 * packets) as they come. A `stamped` viewer also reads the emulator's SEI stamp of each picture and records
 * its latency: the arrival of the picture's last packet minus its capture time. It notes when its first
 * decodable picture (one with an IDR) was complete, counted from `start()`.
 */

import type { CameraError } from "../../src/camera/errors.ts";
import { RtspConnection } from "../../src/camera/rtsp-connection.ts";
import type { InterleavedFrame } from "../../src/protocol/rtsp.ts";
import { parseSdp, resolveControl } from "../../src/protocol/sdp.ts";

const STAMP = Buffer.from("camgate seq=");

export class RtspViewer {
  private connection: RtspConnection | undefined;
  private recording = false;
  private startedAt = 0;
  private pendingStamp: { timestamp: number; capturedAt: number } | undefined;
  private pictureHasIdr = false;
  bytes = 0;
  pictures = 0;
  readonly latencies: number[] = [];
  /** ms from start() to the end of the first picture with an IDR, once seen. */
  firstDecodableMs: number | undefined;
  /** Arrival times (ms) of picture ends while recording, for gaps. */
  readonly arrivals: number[] = [];
  ok = false;
  closed = false;
  error: string | undefined;

  constructor(
    private readonly url: string,
    private readonly options: { username?: string; password?: string; stamped?: boolean } = {},
  ) {}

  async start(): Promise<void> {
    const url = new URL(this.url);
    this.startedAt = performance.now();
    const connection = new RtspConnection({
      camera: "bench",
      host: url.hostname,
      port: Number(url.port),
      username: this.options.username ?? "",
      password: this.options.password ?? "",
      connectTimeoutMs: 10_000,
      responseTimeoutMs: 20_000,
      onFrame: (frame) => this.frame(frame),
      onClose: (error: CameraError) => {
        this.closed = true;
        this.error ??= error.message;
      },
    });
    this.connection = connection;
    try {
      await connection.open();
      const describe = await connection.request("DESCRIBE", this.url, [["Accept", "application/sdp"]]);
      if (describe.status !== 200) throw new Error(`DESCRIBE ${describe.status}`);
      // The video's control URL and the session's, as the server's SDP says (camgate and the emulator use
      // trackID=0; GStreamer's RTSP server stream=0, its session control the Content-Base).
      const sdp = parseSdp(describe.body.toString("utf8"));
      const base =
        describe.headers.get("content-base") ?? describe.headers.get("content-location") ?? this.url;
      const video = sdp.media.find((media) => media.kind === "video");
      const setup = await connection.request("SETUP", resolveControl(base, video?.control), [
        ["Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"],
      ]);
      if (setup.status !== 200) throw new Error(`SETUP ${setup.status}`);
      const session = (setup.headers.get("session") ?? "").split(";")[0] ?? "";
      const play = await connection.request("PLAY", resolveControl(base, sdp.control), [
        ["Session", session],
      ]);
      if (play.status !== 200) throw new Error(`PLAY ${play.status}`);
      this.ok = true;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
      connection.close();
    }
  }

  record(on: boolean): void {
    this.recording = on;
  }

  stop(): void {
    this.connection?.close();
  }

  private frame(frame: InterleavedFrame): void {
    if (frame.channel !== 0) return;
    const packet = frame.payload;
    this.bytes += packet.length;
    if (packet.length < 13) return;
    const marker = ((packet[1] as number) & 0x80) !== 0;
    const headerBytes = 12 + ((packet[0] as number) & 0x0f) * 4;
    const nal = (packet[headerBytes] as number) & 0x1f;
    if (this.firstDecodableMs === undefined && !this.pictureHasIdr) {
      const fuStartIdr = nal === 28 && ((packet[headerBytes + 1] as number) & 0x9f) === 0x85;
      if (nal === 5 || fuStartIdr || (nal === 24 && stapHasIdr(packet, headerBytes + 1)))
        this.pictureHasIdr = true;
    }
    const now = performance.now();
    if (this.options.stamped && this.recording && nal !== 28) {
      const at = packet.indexOf(STAMP, headerBytes);
      if (at >= 0) {
        const match = /t=(\d+)/.exec(packet.subarray(at, at + 48).toString("latin1"));
        if (match) this.pendingStamp = { timestamp: packet.readUInt32BE(4), capturedAt: Number(match[1]) };
      }
    }
    if (!marker) return;
    if (this.firstDecodableMs === undefined && this.pictureHasIdr)
      this.firstDecodableMs = now - this.startedAt;
    this.pictureHasIdr = false;
    if (!this.recording) return;
    this.pictures++;
    this.arrivals.push(now);
    const stamp = this.pendingStamp;
    if (stamp && stamp.timestamp === packet.readUInt32BE(4)) {
      this.latencies.push(Date.now() - stamp.capturedAt);
      this.pendingStamp = undefined;
    }
  }
}

/** Whether a STAP-A (from `at`, past its own header) carries an IDR slice. */
function stapHasIdr(packet: Buffer, at: number): boolean {
  while (at + 2 < packet.length) {
    const size = packet.readUInt16BE(at);
    if (((packet[at + 2] as number) & 0x1f) === 5) return true;
    at += 2 + size;
  }
  return false;
}
