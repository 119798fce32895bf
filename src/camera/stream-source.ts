/**
 * What every long-lived upstream (MJPEG, the event stream, ONVIF's PullPoint, RTSP) is: a `connect` that
 * opens one connection and says `loop.live()` or `fail(down)`, and a `release` that closes what it holds.
 * Its lifecycle (state, the last failure, start, stop, retries, backoff) is the one StreamLoop's, so the
 * sources cannot drift apart again (issue 29).
 */
import type { CameraError } from "./errors.ts";
import { StreamLoop } from "./stream-loop.ts";
import type { StreamDown, StreamState } from "./stream-status.ts";

export interface StreamSourceOptions {
  backoffMinMs?: number | undefined;
  backoffMaxMs?: number | (() => number) | undefined;
  /** State changes; `down` says why when the state is `down`. */
  onState?: ((state: StreamState, down: StreamDown | undefined) => void) | undefined;
  /** The stream went down and is tried again in `retryInMs` (for one log line per change of reason). */
  onRetry?: ((down: StreamDown, retryInMs: number) => void) | undefined;
}

export abstract class StreamSource {
  protected readonly loop: StreamLoop;

  constructor(options: StreamSourceOptions) {
    this.loop = new StreamLoop({
      connect: (generation) => this.connect(generation),
      release: () => this.release(),
      onState: options.onState,
      onRetry: options.onRetry,
      ...(options.backoffMinMs !== undefined ? { backoffMinMs: options.backoffMinMs } : {}),
      ...(options.backoffMaxMs !== undefined ? { backoffMaxMs: options.backoffMaxMs } : {}),
    });
  }

  /** Opens one connection; `generation` identifies it (`loop.isCurrent`, `loop.watch`). */
  protected abstract connect(generation: number): Promise<void>;
  /** Closes whatever the current connection holds. */
  protected abstract release(): void;

  get current(): StreamState {
    return this.loop.state;
  }

  /** The last failure, kept after the stream is back. */
  get lastDown(): StreamDown | undefined {
    return this.loop.lastDown;
  }

  get lastError(): CameraError | undefined {
    return this.loop.lastError;
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
  }

  /** The camera is back (its session went online): reconnect now rather than after the backoff. */
  retryNow(): void {
    this.loop.retryNow();
  }

  /** The way to the camera changed: this connection ends and the next is made now. */
  reconnectNow(): void {
    this.loop.restart();
  }

  protected fail(down: StreamDown): void {
    this.loop.fail(down);
  }
}
