/**
 * The emulated camera's event side: attached `eventManager.cgi` clients, the set of active states that
 * `getEventIndexes` reports, heartbeats, and the periodic motion cycle driven by `MotionDetect[n].Enable`.
 */
import type { ServerResponse } from "node:http";
import {
  type CameraEvent,
  EVENT_STREAM_HEADERS,
  type EventData,
  eventPart,
  heartbeatPart,
  malformedParts,
} from "./event-framing.ts";
import type { EventFraming } from "./profiles.ts";

export interface MotionCycle {
  /** Time from one motion start to the next. */
  everyMs: number;
  /** How long each motion lasts. */
  durationMs: number;
}

interface Subscriber {
  res: ServerResponse;
  codes: Set<string> | "All";
  heartbeat: NodeJS.Timeout | undefined;
}

export interface EventHubOptions {
  framing: EventFraming;
  channels: number;
  motionCycle: MotionCycle | false;
  motionEnabled: (channel: number) => boolean;
  isStalled: () => boolean;
  /** Camera wall clock (for cJSON's LocaleTime/UTC). */
  cameraTime: () => Date;
  /** Side effects of an event: alarm mail, dark frames for VideoBlind. */
  onEvent: (event: CameraEvent) => void;
}

const STATEFUL_ACTIONS = new Set(["Start", "Stop"]);

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  /** code → active channel indexes (0-based), from Start until Stop. */
  private readonly active = new Map<string, Set<number>>();
  private motionTimer: NodeJS.Timeout | undefined;
  private readonly motionTimers = new Set<NodeJS.Timeout>();
  private eventId = 1000;
  /** Parts and heartbeats not written because of the stall fault (tests wait on this, not on a timer). */
  suppressedWrites = 0;

  constructor(private readonly options: EventHubOptions) {}

  start(): void {
    const cycle = this.options.motionCycle;
    if (cycle === false || this.motionTimer) return;
    this.motionTimer = setInterval(() => this.motionTick(cycle), cycle.everyMs);
    this.motionTimer.unref();
  }

  /** Ends every subscription and timer (reboot, close). Active states are forgotten, as on a power cycle. */
  stop(): void {
    if (this.motionTimer) clearInterval(this.motionTimer);
    this.motionTimer = undefined;
    for (const timer of this.motionTimers) clearTimeout(timer);
    this.motionTimers.clear();
    for (const subscriber of this.subscribers) this.detach(subscriber, true);
    this.active.clear();
  }

  /** Ends every attached stream (the camera closes them; its events go on). */
  hangUpAll(): void {
    for (const subscriber of this.subscribers) this.detach(subscriber, true);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  attach(res: ServerResponse, codes: Set<string> | "All", heartbeatSeconds: number | undefined): void {
    // A multipart stream without chunked encoding: the raw bytes go on the socket, as a device writes them.
    res.removeHeader("Transfer-Encoding");
    res.writeHead(200, EVENT_STREAM_HEADERS);
    // Devices send the header block at once; Node would hold it back until the first part.
    res.flushHeaders();
    const subscriber: Subscriber = { res, codes, heartbeat: undefined };
    if (heartbeatSeconds !== undefined) {
      const framing = this.options.framing;
      subscriber.heartbeat = setInterval(() => {
        if (this.options.isStalled()) this.suppressedWrites++;
        else res.write(heartbeatPart(framing));
      }, heartbeatSeconds * 1000);
    }
    this.subscribers.add(subscriber);
    res.on("close", () => this.detach(subscriber, false));
  }

  emit(input: CameraEvent): void {
    const event = this.withFirmwareData(input);
    if (STATEFUL_ACTIONS.has(event.action)) {
      const channels = this.active.get(event.code) ?? new Set<number>();
      if (event.action === "Start") channels.add(event.index);
      else channels.delete(event.index);
      this.active.set(event.code, channels);
    }
    this.options.onEvent(event);
    if (this.options.isStalled()) {
      this.suppressedWrites += this.subscribers.size;
      return;
    }
    const part = eventPart(event, this.options.framing);
    for (const subscriber of this.subscribers) {
      if (subscriber.codes === "All" || subscriber.codes.has(event.code)) subscriber.res.write(part);
    }
  }

  /** Writes a broken part (stray HTTP header block, non-numeric length) to every attached client. */
  emitMalformed(): void {
    const bytes = malformedParts(this.options.framing);
    for (const subscriber of this.subscribers) subscriber.res.write(bytes);
  }

  activeIndexes(code: string): number[] {
    return [...(this.active.get(code) ?? [])].sort((a, b) => a - b);
  }

  isActive(code: string, index: number): boolean {
    return this.active.get(code)?.has(index) ?? false;
  }

  private detach(subscriber: Subscriber, destroy: boolean): void {
    if (subscriber.heartbeat) clearInterval(subscriber.heartbeat);
    this.subscribers.delete(subscriber);
    if (destroy) subscriber.res.destroy();
  }

  /** Newer firmware adds EventID, UTC and LocaleTime to the data of every event (rroller/dahua#456). */
  private withFirmwareData(event: CameraEvent): CameraEvent {
    if (this.options.framing !== "cjson-2023" || event.data === null) return event;
    const time = this.options.cameraTime();
    const data: EventData = {
      EventID: this.eventId++,
      LocaleTime: wallClock(time),
      UTC: Math.floor(time.getTime() / 1000),
      ...(event.data ?? {}),
    };
    return { ...event, data };
  }

  private motionTick(cycle: MotionCycle): void {
    for (let channel = 0; channel < this.options.channels; channel++) {
      if (!this.options.motionEnabled(channel) || this.isActive("VideoMotion", channel)) continue;
      this.emit({
        code: "VideoMotion",
        action: "Start",
        index: channel,
        data: motionData(this.options.framing),
      });
      // VideoMotionInfo State fires repeatedly during motion (2022 curl dump, rroller/dahua#166).
      const chatter = setInterval(
        () => this.emit({ code: "VideoMotionInfo", action: "State", index: channel }),
        1000,
      );
      this.motionTimers.add(chatter);
      const end = setTimeout(() => {
        clearInterval(chatter);
        this.motionTimers.delete(chatter);
        this.motionTimers.delete(end);
        if (this.isActive("VideoMotion", channel)) {
          this.emit({
            code: "VideoMotion",
            action: "Stop",
            index: channel,
            data: motionData(this.options.framing),
          });
        }
      }, cycle.durationMs);
      this.motionTimers.add(end);
    }
  }
}

export function motionData(framing: EventFraming): EventData {
  return framing === "cjson-2023"
    ? { Id: [0], Name: "IPC", RegionName: ["Region1"], SmartMotionEnable: true }
    : { Id: [0], RegionName: ["Region1"], SmartMotionEnable: false };
}

export function wallClock(time: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${time.getUTCFullYear()}-${p(time.getUTCMonth() + 1)}-${p(time.getUTCDate())} ` +
    `${p(time.getUTCHours())}:${p(time.getUTCMinutes())}:${p(time.getUTCSeconds())}`
  );
}
