/**
 * One log line per change of a long-lived upstream's state, with the camera's answer (issue 27): the first
 * failure, a failure for another reason, and the stream back (only after a failure was said). The same
 * failure again is not said again; its retries go on at the backoff. Every kind of upstream (RTSP, MJPEG,
 * the event stream, ONVIF's PullPoint) says it the same way, so a camera that fails is one line, not silence
 * and not a line a second.
 */
import type { StreamDown } from "./stream-status.ts";

export interface NarratorSink {
  warn(message: string, fields: Record<string, unknown>): void;
  info(message: string, fields: Record<string, unknown>): void;
}

/** Back for less than this and down again for the same reason is one failure going on, not news. */
const HELD_MS = 10_000;

export class StreamNarrator {
  private said: string | undefined;
  private liveSaid = false;
  private liveAt: number | undefined;

  /** `what` names the upstream in the line ("RTSP stream", "event stream"); `fields` go with every line. */
  constructor(
    private readonly sink: NarratorSink,
    private readonly what: string,
    private readonly fields: Record<string, unknown> = {},
    private readonly now: () => number = Date.now,
  ) {}

  down(down: StreamDown, retryInMs: number): void {
    const reason = down.error.message;
    // The same failure again, or a stream that flaps (back, and down again for the same reason before it
    // held): said once. Its retries go on at the backoff and the API shows each state.
    const held = this.liveAt !== undefined && this.now() - this.liveAt >= HELD_MS;
    this.liveAt = undefined;
    if (reason === this.said && !(this.liveSaid && held)) return;
    this.said = reason;
    this.liveSaid = false;
    this.sink.warn(`${this.what} down: ${reason}`, {
      ...this.fields,
      code: down.code,
      reason,
      retryInSeconds: Math.round(retryInMs / 1000),
    });
  }

  live(): void {
    this.liveAt ??= this.now();
    if (this.said === undefined || this.liveSaid) return;
    this.liveSaid = true;
    this.sink.info(`${this.what} live again`, this.fields);
  }
}
