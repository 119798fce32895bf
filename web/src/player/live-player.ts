/**
 * What the camera page's players share: start and stop, a state with a reason for the overlay, a 250 ms
 * watchdog, and reconnecting with a backoff (0.5 s doubling to 5 s, reset once pictures play again).
 */

export type PlayerState = "connecting" | "playing" | "reconnecting" | "failed";

export interface PlayerEvents {
  onState(state: PlayerState, detail?: string): void;
  /** Text the server said (audio that MSE cannot play, the stream's state). */
  onInfo?(text: string): void;
  /** The MIME type being played (its codecs say whether there is audio). */
  onMime?(mime: string): void;
}

const MAX_RETRY_MS = 5000;

export abstract class LivePlayer {
  protected stopped = false;
  protected state: PlayerState = "connecting";
  private watchdog: number | undefined;
  private retryTimer: number | undefined;
  private retries = 0;

  constructor(
    protected readonly video: HTMLVideoElement,
    protected readonly url: string,
    protected readonly events: PlayerEvents,
  ) {}

  start(): void {
    this.stopped = false;
    void this.connect();
    this.watchdog = window.setInterval(() => this.tick(), 250);
  }

  stop(): void {
    this.stopped = true;
    window.clearInterval(this.watchdog);
    window.clearTimeout(this.retryTimer);
    this.teardown();
  }

  /** How far playback is behind what has arrived (seconds), where the player can tell. */
  abstract delay(): number | undefined;

  protected abstract connect(): void | Promise<void>;
  /** Every 250 ms: notice pictures playing, or a stall. */
  protected abstract tick(): void;
  protected abstract teardown(): void;

  protected setState(state: PlayerState, detail?: string): void {
    if (state === this.state && detail === undefined) return;
    this.state = state;
    this.events.onState(state, detail);
  }

  /** Pictures play: the overlay goes and the next reconnect starts from the shortest wait. */
  protected playing(): void {
    this.retries = 0;
    this.setState("playing");
  }

  protected retry(why: string): void {
    if (this.stopped) return;
    this.teardown();
    this.setState("reconnecting", why);
    const wait = Math.min(MAX_RETRY_MS, 500 * 2 ** this.retries++);
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => void this.connect(), wait);
  }
}
