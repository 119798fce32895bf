/**
 * The player for browsers without MSE (iPhones before iOS 17.1, smart TVs): the browser's own HLS, from
 * camgate's LL-HLS (`/api/v1/cameras/<id>/hls/index.m3u8`; the session cookie goes with the first request,
 * the playlist's session path carries the rest). Playing is seen from the video's clock moving; a stall
 * reloads the source with the shared backoff.
 */
import { LivePlayer } from "./live-player.ts";

/** No picture for this long: reload. */
const STALL_MS = 8000;
/**
 * Before the first picture: a session's first playlist waits for three whole segments, then the browser
 * buffers its own start; retrying sooner only starts that wait again (a TV on a slow link would never play).
 * The wait counts from the video's last sign of loading, so a slow start that progresses is never restarted.
 */
const FIRST_PICTURE_MS = 25_000;

/** Whether this browser plays HLS itself and has no MSE (where MSE exists, the MSE player is better). */
export function wantsNativeHls(video: HTMLVideoElement): boolean {
  const scope = window as unknown as { MediaSource?: unknown; ManagedMediaSource?: unknown };
  const mse = scope.MediaSource !== undefined || scope.ManagedMediaSource !== undefined;
  return !mse && video.canPlayType("application/vnd.apple.mpegurl") !== "";
}

/** What the video says while it loads: each is progress, and keeps a slow first start from being restarted. */
const LOADING_EVENTS = ["loadstart", "progress", "loadedmetadata", "loadeddata", "canplay", "durationchange"];

export class HlsPlayer extends LivePlayer {
  private lastTime = -1;
  private lastProgress = Date.now();
  private listening = false;
  private readonly progressed = () => {
    this.lastProgress = Date.now();
  };

  delay(): number | undefined {
    const ranges = this.video.seekable;
    return ranges.length > 0 ? ranges.end(ranges.length - 1) - this.video.currentTime : undefined;
  }

  protected connect(): void {
    this.setState(this.state === "playing" ? "reconnecting" : "connecting");
    this.lastProgress = Date.now();
    if (!this.listening) {
      for (const name of LOADING_EVENTS) this.video.addEventListener(name, this.progressed);
      this.listening = true;
    }
    this.video.src = this.url;
    void this.video.play().catch(() => undefined);
  }

  protected tick(): void {
    // The browser gave up on the source (a playlist it refused): no use waiting for the deadline.
    if (this.video.error && this.video.getAttribute("src")) {
      this.retry(`the browser's HLS failed (${this.video.error.code})`);
      return;
    }
    const time = this.video.currentTime;
    if (time !== this.lastTime && time > 0) {
      this.lastTime = time;
      this.lastProgress = Date.now();
      if (this.state !== "playing") this.playing();
    } else if (Date.now() - this.lastProgress > (this.state === "playing" ? STALL_MS : FIRST_PICTURE_MS))
      this.retry("the stream stalled");
  }

  protected teardown(): void {
    if (this.stopped) {
      for (const name of LOADING_EVENTS) this.video.removeEventListener(name, this.progressed);
      this.listening = false;
    }
    this.video.removeAttribute("src");
    this.video.load();
  }
}
