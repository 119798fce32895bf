/**
 * The skeleton every long-lived camera stream shares (MJPEG, events): a connection generation (so late
 * callbacks of an old connection do nothing), a silence watchdog, and reconnects with backoff (1 s doubling
 * to 30 s by default) until stopped. A connection that had worked for a while and then drops (a network blip,
 * a camera that closed one session) is retried at once, once: viewers see a short gap, not the backoff.
 */
import type { StreamDown } from "./stream-status.ts";

export interface ReconnectLoopOptions {
  /** Opens one connection; `generation` identifies it for `isCurrent` and `watch`. */
  connect: (generation: number) => Promise<void>;
  /** The connection failed or went silent; a reconnect is scheduled after this. */
  onDown: (down: StreamDown) => void;
  /** Close whatever the current connection holds. */
  release: () => void;
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

/** A connection up at least this long counts as having worked: its loss is retried after QUICK_RETRY_MS. */
const STEADY_MS = 10_000;
const QUICK_RETRY_MS = 200;

export class ReconnectLoop {
  private generation = 0;
  private running = false;
  private retry: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private upSince: number | undefined;

  constructor(private readonly options: ReconnectLoopOptions) {
    this.backoffMs = options.backoffMinMs ?? 1000;
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.options.connect(++this.generation);
  }

  stop(): void {
    this.running = false;
    this.generation++;
    this.clearWatchdog();
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.options.release();
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

  /** The connection works: the next failure starts the backoff from the beginning. */
  succeeded(): void {
    this.backoffMs = this.options.backoffMinMs ?? 1000;
    this.upSince = Date.now();
  }

  /**
   * Reconnect now instead of after the backoff (the camera was seen to be back); does nothing while a
   * connection is open or the loop is stopped.
   */
  retryNow(): void {
    if (!this.running || !this.retry) return;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.backoffMs = this.options.backoffMinMs ?? 1000;
    void this.options.connect(++this.generation);
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
    this.generation++;
    this.clearWatchdog();
    this.options.release();
    if (!this.running) return;
    this.options.onDown(down);
    const steady = this.upSince !== undefined && Date.now() - this.upSince >= STEADY_MS;
    this.upSince = undefined;
    // Flapping (up, down at once, up...) never reaches the steady mark, so it backs off as before.
    const delay = steady ? QUICK_RETRY_MS : this.backoffMs;
    if (!steady) this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoffMaxMs ?? 30_000);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.running) void this.options.connect(++this.generation);
    }, delay);
  }

  private clearWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }
}
