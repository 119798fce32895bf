/**
 * The one loop every long-lived camera stream runs in (MJPEG, the event stream, ONVIF's PullPoint, RTSP): it
 * owns the stream's lifecycle state (idle, connecting, live, down, and the last failure with its typed
 * reason), a connection generation (so late callbacks of an old connection do nothing), a silence watchdog,
 * and reconnects with backoff (1 s doubling to 30 s by default) until stopped. A source only connects,
 * says `live()` when its stream flows and `fail(down)` when it ends (issue 29: the four sources had each kept
 * their own copy of this, and drifted). A connection that had worked for a while and then drops (a
 * network blip, a camera that closed one session) is retried at once, once: viewers see a short gap, not
 * the backoff. The backoff holds across a stop and a start, and early retries (`retryNow`) come at most
 * every 5 s, so a client that retries fast never makes camgate hammer a camera that fails (issue 27).
 *
 * Only a connection that stayed up (STEADY_MS) resets the backoff: a camera that answers and closes at once
 * (an event stream or MJPEG that sends its headers, or one frame, and hangs up) fails the same way each
 * time and backs off like one that refuses, instead of being asked again every second.
 */
import type { CameraError } from "./errors.ts";
import type { StreamDown, StreamState } from "./stream-status.ts";

export interface StreamLoopOptions {
  /** Opens one connection; `generation` identifies it for `isCurrent` and `watch`. */
  connect: (generation: number) => Promise<void>;
  /** The stream's state changed; `down` says why when it is `down`. */
  onState?: ((state: StreamState, down: StreamDown | undefined) => void) | undefined;
  /** The connection failed or went silent; a reconnect is scheduled in `retryInMs`. */
  onRetry?: ((down: StreamDown, retryInMs: number) => void) | undefined;
  /** Close whatever the current connection holds. */
  release: () => void;
  backoffMinMs?: number;
  /** The longest wait between attempts; a function when it depends on who waits (a viewer, nobody). */
  backoffMaxMs?: number | (() => number);
}

/** The longest wait between attempts at a failing stream while someone uses it, and while nobody does. */
export const WATCHED_BACKOFF_MAX_MS = 5000;
export const IDLE_BACKOFF_MAX_MS = 60_000;

/** A connection up at least this long counts as having worked: its loss is retried after QUICK_RETRY_MS. */
const STEADY_MS = 10_000;
const QUICK_RETRY_MS = 200;
/** An early retry (the camera seen back, a new viewer) at most this often: a client retrying fast cannot make us. */
const EARLY_RETRY_MIN_MS = 5000;

export class StreamLoop {
  private generation = 0;
  private running = false;
  private retry: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private upSince: number | undefined;
  /** No attempt before this, even across a stop and a start (a stream nobody watched, then someone does). */
  private nextAttemptAt = 0;
  private lastEarlyRetryAt = 0;
  private stateNow: StreamState = "idle";
  /** The last failure, kept after the stream is back (for status pages). */
  lastDown: StreamDown | undefined;

  constructor(private readonly options: StreamLoopOptions) {
    this.backoffMs = options.backoffMinMs ?? 1000;
  }

  get state(): StreamState {
    return this.stateNow;
  }

  get lastError(): CameraError | undefined {
    return this.lastDown?.error;
  }

  /** The stream flows: live, and the connection counts as working (see `succeeded`). */
  live(): void {
    this.succeeded();
    this.setState("live", undefined);
  }

  private setState(state: StreamState, down: StreamDown | undefined): void {
    if (this.stateNow === state) return;
    this.stateNow = state;
    this.options.onState?.(state, down);
  }

  private open(): void {
    this.setState("connecting", undefined);
    void this.options.connect(++this.generation);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // A failure's backoff holds across an idle period: a stream stopped and started again (its viewer left
    // and another came, or the same one retrying) waits out what is left of it.
    // Meanwhile the stream is down for the last failure's reason, so a consumer asking now is answered at
    // once instead of waiting for a picture that cannot come yet.
    const wait = this.nextAttemptAt - Date.now();
    if (wait > 0) {
      this.schedule(wait);
      if (this.lastDown) this.setState("down", this.lastDown);
    } else this.open();
  }

  stop(): void {
    if (this.wasSteady()) this.backoffMs = this.options.backoffMinMs ?? 1000;
    this.upSince = undefined;
    this.running = false;
    this.generation++;
    this.clearWatchdog();
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.options.release();
    this.setState("idle", undefined);
  }

  /** The way to the camera changed: the current connection ends and the next is made now (if running). */
  restart(): void {
    if (!this.running) return;
    this.stop();
    this.start();
  }

  isCurrent(generation: number): boolean {
    return generation === this.generation;
  }

  /**
   * The connection works. Its loss is retried at once and the backoff starts from the beginning only if it
   * stays up for STEADY_MS; one that answers and drops keeps backing off.
   */
  succeeded(): void {
    this.nextAttemptAt = 0;
    this.upSince ??= Date.now();
  }

  /**
   * Reconnect now instead of after the backoff (the camera was seen to be back); does nothing while a
   * connection is open or the loop is stopped.
   */
  retryNow(): void {
    if (!this.running || !this.retry) return;
    const now = Date.now();
    if (now - this.lastEarlyRetryAt < EARLY_RETRY_MIN_MS) return;
    this.lastEarlyRetryAt = now;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.nextAttemptAt = 0;
    this.backoffMs = this.options.backoffMinMs ?? 1000;
    this.open();
  }

  /** (Re)arms the silence watchdog: nothing for `ms` counts as `onSilence` (if still this connection). */
  watch(generation: number, ms: number, onSilence: () => void): void {
    this.clearWatchdog();
    if (ms <= 0) return;
    this.watchdog = setTimeout(() => {
      if (this.isCurrent(generation)) onSilence();
    }, ms);
  }

  /** Ends the current connection and, while running, schedules the next one with backoff. */
  fail(down: StreamDown): void {
    this.lastDown = down;
    this.generation++;
    this.clearWatchdog();
    this.options.release();
    const steady = this.wasSteady();
    this.upSince = undefined;
    if (steady) this.backoffMs = this.options.backoffMinMs ?? 1000;
    // Flapping (up, down at once, up...) never reaches the steady mark, so it backs off as before.
    const delay = steady ? QUICK_RETRY_MS : Math.min(this.backoffMs, this.maxBackoffMs());
    if (!steady) this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs());
    this.nextAttemptAt = Date.now() + delay;
    if (!this.running) return;
    this.setState("down", down);
    this.options.onRetry?.(down, delay);
    this.schedule(delay);
  }

  private wasSteady(): boolean {
    return this.upSince !== undefined && Date.now() - this.upSince >= STEADY_MS;
  }

  private maxBackoffMs(): number {
    const max = this.options.backoffMaxMs;
    return typeof max === "function" ? max() : (max ?? 30_000);
  }

  private schedule(delay: number): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.running) this.open();
    }, delay);
  }

  private clearWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }
}
