/**
 * Event clips: for every incident of a clip code on a camera, an MP4 from `preRollSeconds` before its start
 * to `postRollSeconds` after its end (at most `maxSeconds`), cut from the access units camgate already holds:
 * no second camera session, no re-encoding. Each camera with clips keeps its main stream open and the last
 * seconds in a pre-roll ring, so the clip begins at the keyframe before the event. A finished clip is
 * indexed and announced as a `ClipReady` gateway event (webhooks and MQTT carry its URL).
 */

import { join } from "node:path";
import type { Logger } from "pino";
import type { CameraEntry, CameraSet } from "../camera/registry.ts";
import type { Config } from "../config/schema.ts";
import type { EventBus } from "../events/bus.ts";
import type { CamgateEvent } from "../events/model.ts";
import type { EventPublisher } from "../events/publisher.ts";
import type { EventStore } from "../events/store.ts";
import { fileInitSegment, sameInit } from "../media/fmp4.ts";
import type { HubUnit, MediaConsumer, StreamTracks } from "../relay/stream-hub.ts";
import type { StreamHubs } from "../relay/stream-hubs.ts";
import { ClipFile, ClipFileError, type OpenForWriting, openForWriting } from "./clip-file.ts";
import { clipsEnabled, clipWanted } from "./clip-policy.ts";
import { PreRollRing } from "./pre-roll.ts";
import type { RecordingIndex } from "./recording-index.ts";
import { TrackWriter } from "./track-writer.ts";

/** The pre-roll ring never holds more than this per camera. */
const MAX_RING_BYTES = 32 * 1024 * 1024;

export interface ClipRecorderOptions {
  config: Config;
  cameras: CameraSet;
  streams: StreamHubs;
  store: EventStore;
  bus: EventBus;
  publisher: EventPublisher;
  index: RecordingIndex;
  dir: string;
  logger: Logger;
  /** How files are opened (a test hands in one that fails like a full disk). */
  openFile?: OpenForWriting;
  /** After a full disk, no new clip is tried for this long (default 30 s). */
  diskFullPauseMs?: number;
}

interface ActiveClip {
  incident: string;
  file: ClipFile;
  track: TrackWriter;
  startedAt: number;
  /** Set when the incident ended: the clip stops at this time (its post-roll). */
  stopAt: number | undefined;
  /** The cap: the clip stops here whatever happens. */
  deadline: number;
  timer: NodeJS.Timeout | undefined;
}

/** One camera's clip source: the main stream's consumer, its ring, and the clips being written. */
class CameraClips implements MediaConsumer {
  readonly ring: PreRollRing;
  private tracks: StreamTracks | undefined;
  private init: Uint8Array | undefined;
  readonly active = new Map<string, ActiveClip>();
  /** Called at the next keyframe (a clip asked for before the stream had a picture). */
  private waiting: (() => void)[] = [];
  private detach: (() => void) | undefined;
  /** Clips being opened (their file created): the stream is not let go under them. */
  opening = 0;

  /** `holdStream`: keep the main stream open for the pre-roll (`preRoll: stream`), or only while clipping. */
  constructor(
    readonly entry: CameraEntry,
    private readonly recorder: ClipRecorder,
    private readonly streams: StreamHubs,
    preRollMs: number,
    private readonly holdStream: boolean,
  ) {
    this.ring = new PreRollRing(preRollMs, MAX_RING_BYTES);
    if (holdStream) this.hold();
  }

  /** Opens the main stream (the hub replays its last GOP, so a lingering stream starts a clip at once). */
  hold(): void {
    this.detach ??= this.streams.hub(this.entry, "main").attach(this);
  }

  /**
   * With `preRoll: none`, lets the stream go once no clip runs or waits: the hub lingers (`relay.lingerMs`)
   * and then ends the camera session. What the ring kept is dropped: later it would be an old pre-roll.
   */
  letGo(): void {
    const busy = this.active.size > 0 || this.waiting.length > 0 || this.opening > 0;
    if (this.holdStream || busy || !this.detach) return;
    this.detach();
    this.detach = undefined;
    this.ring.clear();
    this.init = undefined;
  }

  onTracks(tracks: StreamTracks): void {
    const init = fileInitSegment(tracks);
    if (!init) return;
    // New parameter sets: kept units and running clips belong to the old ones.
    if (this.init && !sameInit(this.init, init)) {
      this.ring.clear();
      for (const clip of this.active.values()) void this.recorder.finish(this, clip, "the stream changed");
    }
    this.init = init;
    this.tracks = tracks;
  }

  onVideo(unit: HubUnit): void {
    if (!this.init) return;
    this.ring.push(unit);
    for (const clip of this.active.values()) this.write(clip, unit);
    if (unit.keyframe && this.waiting.length > 0) for (const callback of this.waiting.splice(0)) callback();
  }

  /** Runs `callback` at the stream's next keyframe. */
  onNextKeyframe(callback: () => void): void {
    this.waiting.push(callback);
  }

  /** A clip for an incident: the ring's units from the pre-roll on, then every unit until it stops. */
  async open(
    incident: string,
    startedAt: number,
    file: string,
    deadline: number,
  ): Promise<ActiveClip | undefined> {
    const init = this.init;
    if (!init) return undefined;
    const units = this.ring.since(startedAt);
    const first = units[0];
    if (!first) return undefined;
    const created = await ClipFile.create(file, init, this.recorder.openFile);
    const clip: ActiveClip = {
      incident,
      file: created,
      track: new TrackWriter(created, first, this.tracks?.codec ?? "h264"),
      startedAt: first.receivedAt,
      stopAt: undefined,
      deadline,
      timer: undefined,
    };
    // Units that arrived while the file was being created are in the ring too: write the ring from the
    // pre-roll on now, and the live ones from here.
    for (const unit of this.ring.since(startedAt)) this.write(clip, unit);
    this.active.set(incident, clip);
    return clip;
  }

  private write(clip: ActiveClip, unit: HubUnit): void {
    clip.track.write(unit);
    const now = unit.receivedAt;
    if (clip.file.failed || (clip.stopAt !== undefined && now >= clip.stopAt) || now >= clip.deadline)
      void this.recorder.finish(this, clip, undefined);
  }

  close(): void {
    this.detach?.();
    this.detach = undefined;
  }
}

function isDiskFull(error: unknown): boolean {
  if (error instanceof ClipFileError) return error.code === "disk-full";
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

export class ClipRecorder {
  private readonly cameras = new Map<string, CameraClips>();
  /** Per camera, the handling of its latest event (the next waits for it). */
  private readonly handling = new Map<string, Promise<void>>();
  readonly openFile: OpenForWriting;
  /** While the disk is full: no clip is tried before this time. */
  private pausedUntil = 0;
  /** Recording stopped for a full disk, and has not yet written a clip since. */
  private stoppedForDisk = false;
  private readonly unsubscribes: (() => void)[] = [];
  /** Clips being finished, so close() can wait for them. */
  private readonly finishing = new Set<Promise<void>>();

  constructor(private readonly options: ClipRecorderOptions) {
    this.openFile = options.openFile ?? openForWriting;
  }

  /** The disk is full: stop trying for a while, and say so once (a gateway event and a warn line). */
  private diskFull(camera: string, message: string): void {
    this.pausedUntil = Date.now() + (this.options.diskFullPauseMs ?? 30_000);
    if (this.stoppedForDisk) return;
    this.stoppedForDisk = true;
    this.options.logger.warn(
      { camera, err: message, dir: this.options.dir },
      "recording stopped: the disk is full (live viewers and events go on; recording resumes when there is room)",
    );
    void this.options.publisher.gatewayEvent(camera, "RecordingStopped", {
      reason: "disk-full",
      error: message,
    });
  }

  private diskRoomAgain(camera: string): void {
    if (!this.stoppedForDisk) return;
    this.stoppedForDisk = false;
    this.options.logger.info({ camera }, "recording resumed: the disk has room again");
    void this.options.publisher.gatewayEvent(camera, "RecordingResumed", {});
  }

  private settings() {
    return this.options.config.recording.clips;
  }

  private wants(camera: string, code: string): boolean {
    return clipWanted(this.options.config, camera, code);
  }

  private enabledFor(camera: string): boolean {
    return clipsEnabled(this.options.config, camera);
  }

  start(): void {
    for (const entry of this.options.cameras.list()) this.watchCamera(entry);
    this.unsubscribes.push(
      this.options.cameras.watch({
        added: (entry) => this.watchCamera(entry),
        removed: (entry) => void this.unwatchCamera(entry.id),
      }),
      this.options.bus.subscribe((event) => this.onEvent(event)),
    );
  }

  private watchCamera(entry: CameraEntry): void {
    if (!this.enabledFor(entry.id) || this.cameras.has(entry.id)) return;
    this.cameras.set(
      entry.id,
      new CameraClips(
        entry,
        this,
        this.options.streams,
        this.settings().preRollSeconds * 1000,
        this.settings().preRoll === "stream",
      ),
    );
  }

  private async unwatchCamera(camera: string): Promise<void> {
    const clips = this.cameras.get(camera);
    if (!clips) return;
    this.cameras.delete(camera);
    clips.close();
    await Promise.all([...clips.active.values()].map((clip) => this.finish(clips, clip, undefined)));
  }

  /** Each camera's events are handled in the order they were stored (their incident is read first). */
  private onEvent(event: CamgateEvent): void {
    if (event.source === "gateway" || !event.incident || !this.wants(event.camera, event.code)) return;
    const previous = this.handling.get(event.camera) ?? Promise.resolve();
    const next = previous
      .then(() => this.handle(event))
      .catch((error: unknown) =>
        this.options.logger.warn(
          { camera: event.camera, err: error instanceof Error ? error.message : String(error) },
          "could not read an event's incident for its clip",
        ),
      );
    this.handling.set(event.camera, next);
    void next.finally(() => {
      if (this.handling.get(event.camera) === next) this.handling.delete(event.camera);
    });
  }

  private async handle(event: CamgateEvent): Promise<void> {
    const clips = this.cameras.get(event.camera);
    if (!clips || !event.incident) return;
    const incident = await this.options.store.incidents.get(event.incident);
    if (!incident) return;
    const running = clips.active.get(incident.id);
    if (running) {
      if (!incident.ongoing && running.stopAt === undefined) this.scheduleStop(clips, running);
      return;
    }
    // One clip per incident: a start (or a mail that began the incident) opens it.
    if (!incident.ongoing || event.action !== "start" || (await this.options.index.clipOf(incident.id)))
      return;
    if (Date.now() < this.pausedUntil) return;
    const started = Date.parse(incident.start);
    const settings = this.settings();
    const relative = join(event.camera, new Date(started).toISOString().slice(0, 10), `${incident.id}.mp4`);
    const deadline = started + settings.maxSeconds * 1000;
    let retried = false;
    clips.hold();
    const attempt = (): void => {
      clips.opening++;
      void clips
        .open(incident.id, started, join(this.options.dir, relative), deadline)
        .finally(() => clips.opening--)
        .then((clip) => {
          if (!clip) {
            // The stream has no picture yet (it is connecting, or just reconnected): start at its first
            // keyframe instead, once; that clip has no pre-roll.
            if (!retried && Date.now() < deadline) {
              retried = true;
              clips.onNextKeyframe(attempt);
            } else {
              this.options.logger.info(
                { camera: event.camera, incident: incident.id },
                "no clip: the camera's main stream had no picture",
              );
              clips.letGo();
            }
            return;
          }
          void this.options.index.begin({
            id: incident.id,
            camera: event.camera,
            kind: "clip",
            incident: incident.id,
            file: relative,
            startedAt: clip.startedAt,
          });
          // The stop may have come while the file was being created.
          void this.options.store.incidents.get(incident.id).then(
            (now) => {
              if (!now?.ongoing && clips.active.get(incident.id) === clip && clip.stopAt === undefined)
                this.scheduleStop(clips, clip);
            },
            () => undefined,
          );
          // The cap holds even when the stream stops delivering units.
          clip.timer = setTimeout(
            () => void this.finish(clips, clip, undefined),
            clip.deadline - Date.now() + 2000,
          );
        })
        .catch((error: unknown) => {
          clips.letGo();
          const message = error instanceof Error ? error.message : String(error);
          if (isDiskFull(error)) this.diskFull(event.camera, message);
          else
            this.options.logger.warn(
              { camera: event.camera, incident: incident.id, err: message },
              "could not start a clip",
            );
        });
    };
    attempt();
  }

  private scheduleStop(clips: CameraClips, clip: ActiveClip): void {
    clip.stopAt = Date.now() + this.settings().postRollSeconds * 1000;
    if (clip.timer) clearTimeout(clip.timer);
    // Units normally end the clip at stopAt; a stream that went quiet must not keep it open.
    clip.timer = setTimeout(() => void this.finish(clips, clip, undefined), clip.stopAt - Date.now() + 2000);
  }

  /** Ends a clip: the file gets its duration and final name, the index its row, subscribers a ClipReady. */
  finish(clips: CameraClips, clip: ActiveClip, reason: string | undefined): Promise<void> {
    if (clips.active.get(clip.incident) !== clip) return Promise.resolve();
    clips.active.delete(clip.incident);
    clips.letGo();
    if (clip.timer) clearTimeout(clip.timer);
    const durationMs = clip.track.durationMs;
    const camera = clips.entry.id;
    const done = clip.file.finish(durationMs).then(
      async ({ bytes }) => {
        // In the index before it is announced: a client that hears ClipReady can fetch the clip at once.
        await this.options.index.done(clip.incident, Date.now(), durationMs, bytes);
        this.diskRoomAgain(camera);
        void this.options.publisher.gatewayEvent(camera, "ClipReady", {
          incident: clip.incident,
          url: `/api/v1/incidents/${clip.incident}/clip.mp4`,
          durationMs: Math.round(durationMs),
          bytes,
          ...(reason ? { cut: reason } : {}),
        });
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        void this.options.index.failed(clip.incident, Date.now(), message);
        this.options.logger.warn({ camera, incident: clip.incident, err: message }, "clip failed");
        void this.options.publisher.gatewayEvent(camera, "RecordingFailed", {
          incident: clip.incident,
          error: message,
          ...(isDiskFull(error) ? { reason: "disk-full" } : {}),
        });
        if (isDiskFull(error)) this.diskFull(camera, message);
      },
    );
    this.finishing.add(done);
    void done.finally(() => this.finishing.delete(done));
    return done;
  }

  /** Clips being recorded, for the API and metrics. */
  activeCount(): number {
    let count = 0;
    for (const clips of this.cameras.values()) count += clips.active.size;
    return count;
  }

  /** Finishes every running clip (nothing recorded is thrown away) and lets the streams go. */
  async close(): Promise<void> {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    await Promise.all([...this.cameras.keys()].map((camera) => this.unwatchCamera(camera)));
    await Promise.all([...this.finishing]);
  }
}
