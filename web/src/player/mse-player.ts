/**
 * The MSE player of camgate's live WebSocket (`/api/v1/cameras/<id>/live`), after go2rtc's video-rtc.js:
 * ManagedMediaSource where it exists (iPhone Safari 17.1+), a staging queue while the SourceBuffer is busy,
 * a small buffer kept by `playbackRate` (faster when behind, normal near the edge), a jump to the live edge
 * when far behind, old buffer trimmed, and a reconnect (with a fresh MediaSource) when the socket closes or
 * no data comes for a while: after a camera reboot the page plays again without a reload.
 */

import { LivePlayer } from "./live-player.ts";

/** Codec strings the browser is asked about; the server picks what matches its stream. */
const CANDIDATE_CODECS = [
  "avc1.42E01E",
  "avc1.4D401F",
  "avc1.640029",
  "avc1.640033",
  "hvc1.1.6.L153.B0",
  "hev1.1.6.L153.B0",
  "mp4a.40.2",
];
/** Behind the live edge by more than this: jump (seconds). */
const JUMP_BEHIND = 0.8;
/**
 * Where a jump lands, and the delay `playbackRate` steers to (seconds): a few pictures, enough for the
 * jitter of a LAN (go2rtc keeps ~1 s, "for a reason": Wi-Fi and the internet jitter more).
 */
const TARGET_DELAY = 0.15;
/** Keep this much played video in the SourceBuffer (seconds). */
const KEEP_BEHIND = 5;
/** No bytes for this long: the stream is stalled; reconnect. */
const STALL_MS = 5000;

type MediaSourceLike = MediaSource;

function mediaSourceClass(): (new () => MediaSourceLike) | undefined {
  const scope = window as unknown as { ManagedMediaSource?: new () => MediaSourceLike };
  return scope.ManagedMediaSource ?? (typeof MediaSource === "undefined" ? undefined : MediaSource);
}

export function supportedCodecs(): string {
  const Source = mediaSourceClass() as unknown as { isTypeSupported(type: string): boolean } | undefined;
  if (!Source) return "";
  return CANDIDATE_CODECS.filter((codec) => Source.isTypeSupported(`video/mp4; codecs="${codec}"`)).join(",");
}

export class MsePlayer extends LivePlayer {
  private socket: WebSocket | undefined;
  private source: MediaSourceLike | undefined;
  private buffer: SourceBuffer | undefined;
  private queue: Uint8Array[] = [];
  private objectUrl: string | undefined;
  private lastData = 0;
  private frames = 0;
  /** What the server said before it closed the socket (a codec this browser cannot play). */
  private lastError: string | undefined;

  /** How far playback is behind what has arrived (seconds), or undefined before the first picture. */
  delay(): number | undefined {
    const ranges = this.video.buffered;
    if (ranges.length === 0) return undefined;
    return ranges.end(ranges.length - 1) - this.video.currentTime;
  }

  protected connect(): void {
    const Source = mediaSourceClass();
    if (!Source) {
      this.setState("failed", "this browser has no Media Source Extensions");
      return;
    }
    this.teardown();
    const source = new Source();
    this.source = source;
    this.queue = [];
    // ManagedMediaSource plays only with remote playback off (Safari's rule).
    this.video.disableRemotePlayback = true;
    this.objectUrl = URL.createObjectURL(source);
    this.video.src = this.objectUrl;
    // The socket opens at once, alongside the MediaSource: what arrives before the source is open waits.
    const early: (ArrayBuffer | string)[] = [];
    let open = false;
    source.addEventListener(
      "sourceopen",
      () => {
        performance.mark("camgate:mse:sourceopen");
        open = true;
        for (const data of early.splice(0)) this.message(data);
      },
      { once: true },
    );
    const socket = new WebSocket(this.url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    this.lastData = Date.now();
    socket.onopen = () => {
      performance.mark("camgate:mse:open");
      socket.send(JSON.stringify({ type: "mse", value: supportedCodecs() }));
    };
    socket.onmessage = (message) => {
      const data = message.data as ArrayBuffer | string;
      if (open) this.message(data);
      else early.push(data);
    };
    socket.onclose = (closed) => {
      if (this.socket !== socket || this.stopped) return;
      if (closed.code === 1003) {
        this.setState("failed", this.lastError ?? (closed.reason || "the stream cannot be played here"));
        return;
      }
      this.retry("reconnecting to camgate");
    };
  }

  private message(data: ArrayBuffer | string): void {
    this.lastData = Date.now();
    if (typeof data === "string") {
      const message = JSON.parse(data) as { type: string; value: string; code?: string };
      if (message.type === "mse") {
        this.open(message.value);
        this.events.onMime?.(message.value);
      } else if (message.type === "error") this.lastError = message.value;
      else if (message.type === "info") this.events.onInfo?.(message.value);
      else if (message.type === "state") {
        // A first connection to the camera is "connecting", not a failure; once playing, any dip is one.
        if (message.value === "down")
          this.setState("reconnecting", "the camera's stream is down; waiting for it");
        else if (message.value === "connecting" && this.state === "playing")
          this.setState("reconnecting", "the camera's stream is reconnecting");
      }
      return;
    }
    if (this.queue.length === 0 && !this.buffer?.buffered.length) performance.mark("camgate:mse:media");
    this.queue.push(new Uint8Array(data));
    this.append();
  }

  private open(mime: string): void {
    const source = this.source;
    if (source?.readyState !== "open") return;
    if (this.buffer) {
      // A new init (the camera changed its parameters): same SourceBuffer when the codec allows it.
      const buffer = this.buffer as SourceBuffer & { changeType?(type: string): void };
      buffer.changeType?.(mime);
      return;
    }
    const buffer = source.addSourceBuffer(mime);
    buffer.mode = "segments";
    buffer.addEventListener("updateend", () => this.updated());
    this.buffer = buffer;
  }

  private append(): void {
    const buffer = this.buffer;
    if (!buffer || buffer.updating || this.queue.length === 0) return;
    const parts = this.queue;
    this.queue = [];
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    const joined = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    try {
      buffer.appendBuffer(joined);
    } catch (error) {
      // QuotaExceededError: the buffer is full (a long pause); start over at the live edge.
      console.warn("MSE append failed; reconnecting", error);
      this.retry("reconnecting to camgate");
    }
  }

  private updated(): void {
    const buffer = this.buffer;
    const video = this.video;
    if (!buffer) return;
    const ranges = video.buffered;
    if (ranges.length > 0) {
      const end = ranges.end(ranges.length - 1);
      const start = ranges.start(ranges.length - 1);
      // Outside the last range (the start, or a gap after a skip to a keyframe), or far behind: jump.
      if (video.currentTime < start || end - video.currentTime > JUMP_BEHIND) {
        video.currentTime = Math.max(start, end - TARGET_DELAY);
      }
      // Steered in proportion: up to 1.5x when behind, a little slower when the buffer runs thin.
      const behind = end - video.currentTime;
      video.playbackRate =
        behind > TARGET_DELAY + 0.05
          ? Math.min(1.5, 1 + (behind - TARGET_DELAY) * 2)
          : behind < TARGET_DELAY / 2
            ? 0.9
            : 1;
      if (video.paused) void video.play().catch(() => undefined);
      if (!buffer.updating && video.currentTime - ranges.start(0) > KEEP_BEHIND * 2) {
        buffer.remove(ranges.start(0), video.currentTime - KEEP_BEHIND);
        return;
      }
    }
    this.append();
  }

  protected tick(): void {
    if (this.stopped) return;
    // Playing means pictures being decoded now, not data arriving (a stream that is down still talks).
    const frames = this.video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0;
    if (frames > this.frames && this.state !== "playing") this.playing();
    this.frames = frames;
    if (this.socket && Date.now() - this.lastData > STALL_MS) this.retry("no data from camgate for 5 s");
  }

  protected teardown(): void {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close();
    }
    this.buffer = undefined;
    this.queue = [];
    if (this.source?.readyState === "open") {
      try {
        this.source.endOfStream();
      } catch {
        // Already ending: nothing to do.
      }
    }
    this.source = undefined;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = undefined;
  }
}
