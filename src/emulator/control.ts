/**
 * The test-facing handle of an emulated camera: trigger events, inject faults, read counters. Later issues'
 * reliability tests drive the camera only through this.
 */
import type { JsonValue } from "../protocol/kv.ts";
import type { EmulatedCamera, EmulatorCounters } from "./camera.ts";
import type { CameraEvent, EventData } from "./event-framing.ts";
import { motionData } from "./event-hub.ts";
import type { LogEntry } from "./log-book.ts";
import type { PtzPosition } from "./ptz.ts";
import type { RtspCounters } from "./rtsp-server.ts";
import type { SceneLayer } from "./scene-layers.ts";
import type { SdCardCondition } from "./sd-card.ts";
import type { TalkRecording } from "./speaker.ts";

export interface TriggerOptions {
  /** 0-based channel index, as in the event's `index=`. */
  index?: number;
  /** Event data; defaults per code (VideoMotion regions, CrossLineDetection rule, ...). */
  data?: EventData | null;
}

/** Default data for codes whose real events carry some (reference §2.7 captures). */
function defaultData(code: string, camera: EmulatedCamera): EventData | undefined {
  switch (code) {
    case "VideoMotion":
      return motionData(camera.profile.eventFraming);
    case "CrossLineDetection":
    case "CrossRegionDetection":
      return {
        Class: "Normal",
        Direction: "LeftToRight",
        Name: "Rule1",
        // Real firmware sends the object's box and centre in 8192-normalised space (rroller/dahua#138).
        Object: {
          Action: "Appear",
          BoundingBox: [2048, 1024, 4096, 6144],
          Center: [3072, 3584],
          ObjectType: "Human",
          ObjectID: 7,
        },
        RuleId: 1,
      };
    case "SmartMotionHuman":
      return { RegionName: ["Region1"], object: [{ HumamID: 1, Rect: [1000, 2000, 3000, 4000] }] };
    default:
      return undefined;
  }
}

export class CameraControl {
  constructor(readonly camera: EmulatedCamera) {}

  /** Emits an event to attached clients (and an alarm mail when Email is enabled). */
  trigger(code: string, action: CameraEvent["action"] = "Start", options: TriggerOptions = {}): void {
    const data = options.data === undefined ? defaultData(code, this.camera) : options.data;
    const event: CameraEvent = { code, action, index: options.index ?? 0 };
    if (data !== undefined) event.data = data;
    this.camera.events.emit(event);
  }

  /**
   * A press of a doorbell's button: `_DoTalkAction_` with `Action: Invite`, as AD410 firmware sends it
   * (rroller/dahua doorbell events). Silent while an RTSP client holds the ONVIF backchannel open (the
   * doorbell thinks it is in a call); returns whether the press was sent.
   */
  pressDoorbell(): boolean {
    if (!this.camera.profile.doorbell) throw new Error(`${this.camera.profile.name} is not a doorbell`);
    if (this.camera.rtsp?.backchannelOpen) {
      this.camera.silencedPresses++;
      return false;
    }
    this.camera.events.emit({
      code: "_DoTalkAction_",
      action: "Pulse",
      index: 0,
      data: { Action: "Invite", CallSrcMask: 4 },
    });
    return true;
  }

  /** What reached the speaker through audio.cgi postAudio, one recording per talk. */
  talks(): readonly TalkRecording[] {
    return this.camera.speaker.recordings();
  }

  /** Drops every connection and refuses connections for `downMs`; resolves when back. */
  reboot(downMs?: number): Promise<void> {
    return this.camera.reboot(downMs);
  }

  /** Streams (MJPEG and events, heartbeats included) stop sending without closing. */
  stallStreams(stalled = true): void {
    this.camera.stalled = stalled;
  }

  /** Every MJPEG connection is closed after it has sent this many frames (undefined: never). */
  dropStreamsAfter(frames: number | undefined): void {
    this.camera.dropStreamsAfterFrames = frames;
  }

  /** Every event stream attach is answered with its headers and then closed at once (those open end now). */
  hangUpEventStreams(hangUp = true): void {
    this.camera.hangUpEventStreams = hangUp;
    if (hangUp) this.camera.events.hangUpAll();
  }

  /** The SD card's condition as storageDevice.cgi reports it: removed, failing, or filled to some size. */
  setSdCard(condition: Partial<SdCardCondition>): void {
    this.camera.sdCard.condition = { ...this.camera.sdCard.condition, ...condition };
  }

  /** Each request waits a random time up to `ms` first: parallel requests are handled out of order. */
  setJitter(ms: number): void {
    this.camera.jitterMs = ms;
  }

  /** Each request waits this long before the camera looks at it. */
  setResponseDelay(ms: number): void {
    this.camera.responseDelayMs = ms;
  }

  /** Writes a stray `HTTP/1.1 200 OK` block and a part with a non-numeric length to attached event clients. */
  sendMalformedEventPart(): void {
    this.camera.events.emitMalformed();
  }

  /** A frozen encoder: snapshots repeat the last picture byte for byte until unfrozen. */
  freezeFrames(frozen = true): void {
    this.camera.frozen = frozen;
  }

  /** Shows a scene for motion detection from now on (scene-layers.ts); undefined: the default picture. */
  setScene(layers: readonly SceneLayer[] | undefined, since = Date.now()): void {
    this.camera.sceneLayers = layers ? { layers, since } : undefined;
  }

  setBlackFrames(black: boolean): void {
    this.camera.blackFrames = black;
  }

  setPassword(password: string): void {
    this.camera.auth.setPassword(password);
  }

  stopListening(): Promise<void> {
    return this.camera.stopListening();
  }

  startListening(): Promise<void> {
    return this.camera.listen();
  }

  counters(): EmulatorCounters {
    return this.camera.getCounters();
  }

  /** The RTSP face's counters: connections, requests, sessions (open and peak), refusals, auth failures. */
  rtspCounters(): RtspCounters {
    const counters = this.camera.rtspCounters();
    if (!counters) throw new Error("this camera's RTSP face is off");
    return counters;
  }

  /** RTSP sessions open right now. */
  rtspSessions(): number {
    return this.camera.rtsp?.openSessions ?? 0;
  }

  resetCounters(): void {
    this.camera.resetCounters();
  }

  ptzPosition(): PtzPosition {
    return this.camera.ptz.position();
  }

  /** Whether the camera is panning or tilting, and whether it is zooming (its own view, not getStatus). */
  ptzMotion(): { panning: boolean; zooming: boolean } {
    return { panning: this.camera.ptz.isPanning(), zooming: this.camera.ptz.isZooming() };
  }

  config(path: string): JsonValue | undefined {
    return this.camera.configValue(path);
  }

  setConfig(path: string, value: JsonValue): void {
    this.camera.setConfigValue(path, value);
  }

  logEntries(type?: string): LogEntry[] {
    return this.camera.log.all().filter((entry) => type === undefined || entry.type === type);
  }

  /** A compromised camera: every authenticated CGI request is answered with this page as text/html. */
  serveHostilePage(html: string | undefined): void {
    this.camera.hostilePage = html;
  }

  /** log.cgi doFind keeps answering the first page (a camera that ignores the paging). */
  ignoreLogPagination(ignore = true): void {
    this.camera.log.ignorePagination = ignore;
  }

  lockedAddresses(): string[] {
    return this.camera.auth.lockedAddresses();
  }

  unlockAll(): void {
    this.camera.auth.unlockAll();
  }

  activeEvents(code: string): number[] {
    return this.camera.events.activeIndexes(code);
  }

  /** Event parts and heartbeats held back by the stall fault so far. */
  suppressedEventWrites(): number {
    return this.camera.events.suppressedWrites;
  }

  eventSubscribers(): number {
    return this.camera.events.subscriberCount;
  }

  /** Resolves when every alarm mail started so far has been delivered or has failed. */
  mailsSettled(): Promise<void> {
    return this.camera.mailsSettled();
  }
}
