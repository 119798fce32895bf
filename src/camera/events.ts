/**
 * A camera's event stream: one `eventManager.cgi?action=attach` through the camera's budget, parsed by the
 * tolerant multipart and event-body parsers, with a watchdog: when nothing (not even a heartbeat) arrived for
 * two heartbeat periods plus a margin, the stream is dead (Home Assistant users know streams that die
 * silently) and is reopened with backoff. After every reconnect the camera is asked which events are still
 * active (`getEventIndexes`), and a `stop` is emitted for every state that ended during the gap, so nothing
 * stays stuck "on". Repeated starts of an active state and `VideoMotionInfo` chatter are not passed on.
 */
import { type EventBody, EventBodyError, parseEventBody } from "../protocol/event-body.ts";
import type { JsonValue } from "../protocol/kv.ts";
import { boundaryFromContentType, MultipartParser } from "../protocol/multipart.ts";
import type { CameraApi } from "./api.ts";
import { CameraError } from "./errors.ts";
import type { CameraStream } from "./session.ts";
import { StreamSource, type StreamSourceOptions } from "./stream-source.ts";
import { downFromError, type StreamDown, type StreamState } from "./stream-status.ts";

export interface CameraEventNotice {
  code: string;
  /** As the camera wrote it: Start, Stop, Pulse, State, ... (`Stop` also when synthesised after a gap). */
  action: string;
  index: number;
  data: JsonValue | undefined;
  /** True for a stop camgate emitted because the state ended while the stream was down. */
  synthetic: boolean;
}

/**
 * A camera's event stream as the layers above use it, whichever protocol carries it: `CameraEventStream`
 * (Dahua's eventManager.cgi) or `OnvifEventStream` (an ONVIF PullPoint, camera/onvif/onvif-events.ts).
 */
export interface CameraEventSource {
  readonly current: StreamState;
  activeStates(): { code: string; index: number }[];
  start(): void;
  stop(): void;
  /** The camera is back: reconnect now rather than after the backoff. */
  retryNow(): void;
  readonly reconnects: number;
  readonly stalls: number;
  readonly malformedParts: number;
  readonly heartbeats: number;
  readonly catchUpFailures: number;
  readonly lastDown: StreamDown | undefined;
}

export interface CameraEventStreamOptions extends StreamSourceOptions {
  api: CameraApi;
  /** `All` or a list of codes. */
  codes: readonly string[];
  heartbeatSeconds: number;
  /** Extra silence allowed beyond two heartbeats (default 2 s). */
  marginMs?: number;
  onEvent: (notice: CameraEventNotice) => void;
  /**
   * Every event part as the camera wrote it (chatter and repeats included, heartbeats not), with its code:
   * for clients of the passthrough that want the camera's own stream.
   */
  onPart?: (body: string, code: string) => void;
  /** Called once per reconnect after a drop, before the catch-up stops are emitted. */
  onReconnect?: () => void;
}

/** Codes whose parts are state chatter, repeated while the state lasts (2022 curl dump, rroller/dahua#166). */
const CHATTER = new Set(["VideoMotionInfo"]);
/**
 * Codes whose Start never gets a Stop: a moment, not a state (issue 27: `RtspSessionDisconnect` arrives as a
 * Start alone). Taken as a pulse, so no state is left on for a catch-up to stop hours later.
 */
const PULSE_CODES = new Set(["RtspSessionDisconnect"]);

export class CameraEventStream extends StreamSource implements CameraEventSource {
  private stream: CameraStream | undefined;
  private everConnected = false;
  /** code → active channel indexes, as last seen from the camera. */
  private readonly active = new Map<string, Set<number>>();
  reconnects = 0;
  stalls = 0;
  malformedParts = 0;
  private framingSaid = false;
  heartbeats = 0;
  catchUpFailures = 0;
  /** A catch-up after a reconnect failed: it is tried again on the next heartbeat. */
  private catchUpPending = false;
  private catchingUp = false;
  private generation = 0;

  constructor(private readonly options: CameraEventStreamOptions) {
    super(options);
  }

  protected release(): void {
    this.stream?.close();
    this.stream = undefined;
  }

  activeStates(): { code: string; index: number }[] {
    return [...this.active].flatMap(([code, indexes]) => [...indexes].map((index) => ({ code, index })));
  }

  private silenceLimitMs(): number {
    return this.options.heartbeatSeconds * 2000 + (this.options.marginMs ?? 2000);
  }

  protected async connect(generation: number): Promise<void> {
    const codes = this.options.codes.includes("All") ? "[All]" : `[${this.options.codes.join(",")}]`;
    const target = `${this.options.api.targetFor("eventManager.cgi", [
      ["action", "attach"],
      ["heartbeat", this.options.heartbeatSeconds],
    ])}&codes=${codes}`;
    let stream: CameraStream;
    try {
      stream = await this.options.api.session.stream({
        target,
        priority: "background",
        // Our own watchdog decides when the stream is dead; undici's body timeout is the backstop.
        timeouts: { bodyMs: this.silenceLimitMs() + 5000 },
      });
    } catch (error) {
      if (this.loop.isCurrent(generation)) this.fail(downFromError(error, this.options.api.id));
      return;
    }
    if (!this.loop.isCurrent(generation)) {
      stream.close();
      return;
    }
    if (stream.status !== 200) {
      stream.close();
      return this.fail({
        code: "refused",
        error: new CameraError(
          stream.status === 400 || stream.status === 501 ? "unsupported" : "bad-response",
          this.options.api.id,
          `eventManager.cgi attach answered ${stream.status}`,
          { status: stream.status },
        ),
      });
    }
    this.stream = stream;
    const parser = new MultipartParser({
      boundary: boundaryFromContentType(String(stream.headers["content-type"])) ?? "myboundary",
      maxPartBytes: 1024 * 1024,
    });
    this.generation = generation;
    this.armWatchdog(generation);
    const reconnected = this.everConnected;
    this.everConnected = true;
    this.loop.live();
    if (reconnected) {
      this.reconnects++;
      this.options.onReconnect?.();
      void this.catchUp(generation);
    }
    stream.body.on("data", (chunk: Buffer) => {
      if (!this.loop.isCurrent(generation)) return;
      this.armWatchdog(generation);
      let parts: ReturnType<MultipartParser["push"]>;
      try {
        parts = parser.push(chunk);
      } catch (error) {
        return this.fail({
          code: "malformed",
          error: new CameraError(
            "bad-response",
            this.options.api.id,
            `broken event stream: ${String(error)}`,
          ),
        });
      }
      for (const part of parts) this.handlePart(part.body.toString("utf8"));
      // Framing the reader had to repair or skip is said once per stream, with how much.
      const odd = parser.skippedLines + parser.lengthMismatches;
      if (odd > 0 && !this.framingSaid) {
        this.framingSaid = true;
        this.options.api.session.warn("event stream framed unusually; camgate read around it", {
          skippedLines: parser.skippedLines,
          lengthMismatches: parser.lengthMismatches,
        });
      }
    });
    const ended = (reason: string) => {
      if (this.loop.isCurrent(generation))
        this.fail({ code: "ended", error: new CameraError("unreachable", this.options.api.id, reason) });
    };
    stream.body.once("error", (error: Error) => ended(`stream error: ${error.message}`));
    stream.body.once("end", () => ended("the camera ended the event stream"));
    stream.body.once("close", () => ended("the event stream closed"));
  }

  private handlePart(text: string): void {
    let body: EventBody;
    try {
      body = parseEventBody(text);
    } catch (error) {
      if (error instanceof EventBodyError) {
        // Said once per stream with its camera (a camera that sends many says it once, not per part).
        if (this.malformedParts++ === 0)
          this.options.api.session.warn("event stream part not understood; such parts are skipped", {
            err: error.message,
            part: text.slice(0, 120),
          });
        return;
      }
      throw error;
    }
    if (body.kind === "heartbeat") {
      this.heartbeats++;
      if (this.catchUpPending && !this.catchingUp) void this.catchUp(this.generation);
      return;
    }
    this.options.onPart?.(text, body.code);
    if (CHATTER.has(body.code)) return;
    if (PULSE_CODES.has(body.code)) {
      this.options.onEvent({
        code: body.code,
        action: "Pulse",
        index: body.index,
        data: body.data,
        synthetic: false,
      });
      return;
    }
    const action = body.action.toLowerCase();
    const indexes = this.active.get(body.code) ?? new Set<number>();
    if (action === "start") {
      // A repeated start of a state that is already on is a duplicate part, not a new event.
      if (indexes.has(body.index)) return;
      indexes.add(body.index);
      this.active.set(body.code, indexes);
    } else if (action === "stop") {
      indexes.delete(body.index);
    }
    this.options.onEvent({
      code: body.code,
      action: body.action,
      index: body.index,
      data: body.data,
      synthetic: false,
    });
  }

  /**
   * After a gap: which of the states we believe active are still active? Stop the rest. When the camera
   * cannot say (the call fails), the states would stay stuck "on": the catch-up is tried again on the next
   * heartbeat, and each failure is logged.
   */
  private async catchUp(generation: number): Promise<void> {
    this.catchUpPending = false;
    this.catchingUp = true;
    try {
      await this.stopEnded(generation);
    } finally {
      this.catchingUp = false;
    }
  }

  private async stopEnded(generation: number): Promise<void> {
    for (const [code, indexes] of [...this.active]) {
      if (indexes.size === 0) continue;
      let stillActive: number[];
      try {
        stillActive = await this.options.api.eventIndexes(code);
      } catch (error) {
        if (!this.loop.isCurrent(generation)) return;
        this.catchUpFailures++;
        this.catchUpPending = true;
        this.options.api.session.warn("event catch-up failed; trying again on the next heartbeat", {
          code,
          err: error instanceof Error ? error.message : String(error),
        });
        continue;
      }
      if (!this.loop.isCurrent(generation)) return;
      for (const index of [...indexes]) {
        if (stillActive.includes(index)) continue;
        indexes.delete(index);
        this.options.onEvent({ code, action: "Stop", index, data: null, synthetic: true });
      }
    }
  }

  private armWatchdog(generation: number): void {
    this.loop.watch(generation, this.silenceLimitMs(), () => {
      this.stalls++;
      this.fail({
        code: "stalled",
        error: new CameraError(
          "timeout",
          this.options.api.id,
          `nothing from the camera for ${this.silenceLimitMs()} ms (not even a heartbeat)`,
        ),
      });
    });
  }
}
