/**
 * RTSP in tests: a bare client (Basic only, requests in order, interleaved frames counted or kept) for the
 * exact answers and the slow-reader cases that ffmpeg and GStreamer cannot be told to produce, and runners
 * for those independent clients, with the SEI stamps of the emulator's pictures read out of what they saved.
 */
import { execFile } from "node:child_process";
import { connect, type Socket } from "node:net";
import { parseRtp } from "../../src/media/rtp.ts";
import {
  formatRequest,
  type InterleavedFrame,
  RtspReader,
  type RtspResponse,
} from "../../src/protocol/rtsp.ts";
import { waitFor } from "./http.ts";
import { findTool } from "./system-tools.ts";

export const locateFfmpeg = () => findTool("ffmpeg", ["ffmpeg"], ["-version"]);
export const locatePromtool = () => findTool("promtool", ["promtool"], ["--version"]);
export const locateGstLaunch = () => findTool("gst-launch-1.0", ["gst-launch-1.0"], ["--version"]);
/** Debian's python3 has the GStreamer bindings (GI); the first python3 on PATH may not. */
export const locateGstPython = () =>
  findTool(
    "python3+gst-rtsp-server",
    ["/usr/bin/python3"],
    ["-c", "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"],
  );

export interface ToolResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program without blocking the event loop (the emulator and gateway run in this process). */
export function runTool(
  command: string,
  args: string[],
  timeoutMs = 30_000,
  input?: string | Buffer,
): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { encoding: "buffer", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: "SIGKILL" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr: stderr.toString("utf8") });
      },
    );
    child.stdin?.end(input);
  });
}

export interface Stamp {
  sequence: number;
  capturedAt: number;
}

/** The emulator's `camgate seq=<n> t=<ms>` SEI stamps, in the order they appear in a saved stream. */
export function readStamps(bytes: Buffer): Stamp[] {
  const stamps: Stamp[] = [];
  for (const match of bytes.toString("latin1").matchAll(/camgate seq=(\d+) t=(\d+)/g))
    stamps.push({ sequence: Number(match[1]), capturedAt: Number(match[2]) });
  return stamps;
}

/** ffmpeg's arguments for reading the video of an RTSP URL over TCP, quietly, with a 10 s socket timeout. */
function ffmpegReading(url: string, extra: string[] = []): string[] {
  return [
    "-v",
    "error",
    "-rtsp_transport",
    "tcp",
    "-timeout",
    "10000000",
    ...extra,
    "-i",
    url,
    "-map",
    "0:v:0",
  ];
}

/** ffmpeg copying `frames` pictures of an RTSP URL (TCP) to raw Annex-B on stdout. */
export function ffmpegCopy(
  url: string,
  frames: number,
  extra: string[] = [],
  format: "h264" | "hevc" = "h264",
): Promise<ToolResult> {
  return runTool("ffmpeg", [
    ...ffmpegReading(url, extra),
    "-c",
    "copy",
    "-frames:v",
    String(frames),
    "-f",
    format,
    "-",
  ]);
}

/** ffmpeg decoding `frames` pictures to tiny grey images: the byte count proves every one was decoded. */
export function ffmpegDecode(url: string, frames: number): Promise<ToolResult> {
  return runTool("ffmpeg", [
    ...ffmpegReading(url),
    "-frames:v",
    String(frames),
    "-vf",
    "scale=16:9",
    "-pix_fmt",
    "gray",
    "-f",
    "rawvideo",
    "-",
  ]);
}

export interface RawResponse {
  status: number;
  headers: RtspResponse["headers"];
  body: Buffer;
}

/** A bare RTSP client over TCP: one request at a time, Basic credentials when given. */
export class RawRtspClient {
  readonly socket: Socket;
  private readonly reader = new RtspReader();
  private cseq = 0;
  private waiting: ((response: RtspResponse) => void) | undefined;
  private readonly opened: Promise<void>;
  private closedFlag = false;
  /** Interleaved frames received, by channel. */
  readonly frameCounts = new Map<number, number>();
  /** Kept frames (when `keep` is on). */
  readonly frames: InterleavedFrame[] = [];
  keep = false;
  onFrame: ((frame: InterleavedFrame) => void) | undefined;

  constructor(
    port: number,
    private readonly auth?: { username: string; password: string },
  ) {
    this.socket = connect({ host: "127.0.0.1", port });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
    this.socket.on("error", () => undefined);
    this.socket.on("close", () => {
      this.closedFlag = true;
    });
    this.socket.on("data", (chunk: Buffer) => {
      for (const item of this.reader.push(chunk)) {
        if (item.kind === "data") {
          this.frameCounts.set(item.channel, (this.frameCounts.get(item.channel) ?? 0) + 1);
          if (this.keep) this.frames.push(item);
          this.onFrame?.(item);
        } else if (item.kind === "response") {
          const waiting = this.waiting;
          this.waiting = undefined;
          waiting?.(item);
        }
      }
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Resolves when the server has closed the connection. */
  whenClosed(): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((resolve) => this.socket.once("close", () => resolve()));
  }

  async request(method: string, uri: string, headers: [string, string][] = []): Promise<RawResponse> {
    await this.opened;
    const auth = this.auth
      ? ([
          [
            "Authorization",
            `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString("base64")}`,
          ],
        ] as [string, string][])
      : [];
    const response = new Promise<RtspResponse>((resolve, reject) => {
      this.waiting = resolve;
      this.socket.once("close", () => reject(new Error(`connection closed before the ${method} answer`)));
    });
    this.socket.write(formatRequest(method, uri, [["CSeq", String(++this.cseq)], ...auth, ...headers]));
    const answer = await response;
    return { status: answer.status, headers: answer.headers, body: Buffer.from(answer.body) };
  }

  /** DESCRIBE, SETUP of the video track (and audio when asked), PLAY. Returns the session id. */
  async play(url: string, options: { audio?: boolean } = {}): Promise<string> {
    const describe = await this.request("DESCRIBE", url, [["Accept", "application/sdp"]]);
    if (describe.status !== 200) throw new Error(`DESCRIBE answered ${describe.status}`);
    const setup = await this.request("SETUP", `${url}/trackID=0`, [
      ["Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"],
    ]);
    if (setup.status !== 200) throw new Error(`SETUP answered ${setup.status}`);
    const session = (setup.headers.get("session") ?? "").split(";")[0] as string;
    if (options.audio) {
      const audio = await this.request("SETUP", `${url}/trackID=1`, [
        ["Transport", "RTP/AVP/TCP;unicast;interleaved=2-3"],
        ["Session", session],
      ]);
      if (audio.status !== 200) throw new Error(`audio SETUP answered ${audio.status}`);
    }
    const play = await this.request("PLAY", url, [
      ["Session", session],
      ["Range", "npt=0.000-"],
    ]);
    if (play.status !== 200) throw new Error(`PLAY answered ${play.status}`);
    return session;
  }

  /** Resolves once `count` frames arrived on `channel`. */
  async waitForFrames(channel: number, count: number, timeoutMs = 15_000): Promise<void> {
    await waitFor(
      () => ((this.frameCounts.get(channel) ?? 0) >= count ? true : undefined),
      timeoutMs,
      `${count} frames on channel ${channel}`,
    );
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * GStreamer's rtspsrc reading `pictures` access units of an RTSP URL (TCP) as Annex-B on stdout, or
 * decoding them (`decode`), with the credentials as rtspsrc's own properties.
 */
export function gstRead(
  gst: string,
  url: string,
  pictures: number,
  options: { auth?: { username: string; password: string }; decode?: boolean; codec?: "h264" | "h265" } = {},
): Promise<ToolResult> {
  const codec = options.codec ?? "h264";
  const tail = options.decode
    ? [`avdec_${codec}`, "!", "fakesink", `num-buffers=${pictures}`]
    : [
        `video/x-${codec},stream-format=byte-stream,alignment=au`,
        "!",
        "identity",
        `eos-after=${pictures}`,
        "!",
        "fdsink",
        "fd=1",
      ];
  return runTool(gst, [
    "-q",
    "rtspsrc",
    `location=${url}`,
    ...(options.auth ? [`user-id=${options.auth.username}`, `user-pw=${options.auth.password}`] : []),
    "protocols=tcp",
    "latency=0",
    "!",
    `rtp${codec}depay`,
    "!",
    `${codec}parse`,
    "!",
    ...tail,
  ]);
}

/**
 * rtspsrc's own shutdown race: when the pipeline ends while media flows, its CLOSE flushes the connection
 * while the PAUSE it sends first is in flight, and it reports "Could not send message. (Received
 * end-of-file)" from gst_rtspsrc_pause (its debug log says "connection flush busy PAUSE"); the server saw a
 * normal TEARDOWN. Any other error, or that one anywhere else, is the server's.
 */
export function gstSucceeded(result: ToolResult): boolean {
  if (result.code === 0 && result.stderr === "") return true;
  const errors = result.stderr
    .split("\n")
    .filter((line) => line.startsWith("ERROR:") || line.includes(".c("));
  return (
    result.code === 1 &&
    errors.length > 0 &&
    errors.every((line) =>
      line.startsWith("ERROR:")
        ? line.includes("Could not write to resource")
        : /gst_rtspsrc_(try_send|pause) \(\)/.test(line),
    ) &&
    result.stderr.includes("gst_rtspsrc_pause ()")
  );
}

/** The video RTP a raw client received: sequence, timestamp, and the H.264 NAL types it carries. */
export function videoPackets(client: RawRtspClient) {
  return client.frames
    .filter((frame) => frame.channel === 0)
    .map((frame) => {
      const packet = parseRtp(frame.payload);
      return {
        sequence: packet.sequence,
        timestamp: packet.timestamp,
        nalTypes: h264NalTypes(packet.payload),
      };
    });
}

/** NAL types in an H.264 RTP payload: a single NAL, each of a STAP-A, or a FU-A's when it starts one. */
export function h264NalTypes(payload: Uint8Array): number[] {
  const type = (payload[0] as number) & 0x1f;
  if (type === 28) return ((payload[1] as number) & 0x80) !== 0 ? [(payload[1] as number) & 0x1f] : [];
  if (type !== 24) return [type];
  const types: number[] = [];
  for (let at = 1; at + 2 < payload.length; ) {
    const size = ((payload[at] as number) << 8) | (payload[at + 1] as number);
    types.push((payload[at + 2] as number) & 0x1f);
    at += 2 + size;
  }
  return types;
}
