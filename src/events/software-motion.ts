/**
 * camgate's own motion detection, per owned camera with `cameras[].motion` (docs/events.md): the camera's
 * MJPEG sub-stream (the relay's hub, shared with any viewer: never a second camera connection) or, for a
 * camera whose sub-stream is H.264 only, snapshots at the same low rate; each picture looked at is decoded
 * shrunk on load to about 160 pixels of grey (libvips decodes the JPEG at 1/8 scale: a few milliseconds,
 * `npm run bench -- motion`), judged by `MotionDetector`, turned into episodes and, through `MotionGate`,
 * published as `VideoMotion` transitions of source `motion` that confirm the camera's incidents.
 *
 * Bounded: at most `fps` pictures a second are decoded and one at a time per camera; a picture that arrives
 * while the previous one is decoded is skipped (the latest wins). Nothing thrown by a decode reaches the
 * hub: a picture that cannot be decoded is counted and skipped.
 */
import type { Logger } from "pino";
import type { CameraEntry } from "../camera/registry.ts";
import type { CameraConfig } from "../config/schema.ts";
import { DEFAULT_MOTION_SETTINGS, MotionDetector } from "../media/motion/motion-detector.ts";
import { type EpisodeChange, MotionEpisodes } from "../media/motion/motion-episodes.ts";
import type { HubRegistry } from "../relay/hub-registry.ts";
import type { SnapshotService } from "../relay/snapshot.ts";
import { errorText } from "../util/error-text.ts";
import { loadSharp } from "../util/lazy-sharp.ts";
import type { EventBus } from "./bus.ts";
import { MOTION_CODE } from "./incidents.ts";
import type { CamgateEvent } from "./model.ts";
import { type GateOutput, MotionGate } from "./motion-gate.ts";
import type { EventPublisher } from "./publisher.ts";

export type MotionConfig = NonNullable<CameraConfig["motion"]>;

/** The most pixels a picture may claim (a 7680x4320 sensor has 33 million). */
export const MAX_INPUT_PIXELS = 40_000_000;

/** A camera's alarm mail says motion started but never that it stopped: it counts as going on this long. */
const MAIL_MOTION_MS = 30_000;

export interface MotionStatus {
  camera: string;
  use: MotionConfig["use"];
  /** learning: the first pictures; watching: judging pictures; motion: an episode goes on; waiting: no pictures yet or lately. */
  state: "learning" | "watching" | "motion" | "waiting";
  picturesAnalysed: number;
  picturesSkipped: number;
  undecodable: number;
  lightChanges: number;
  episodes: number;
  /** Mean milliseconds to decode and judge one picture. */
  meanMs: number;
  lastPictureAt: string | null;
  lastMotionAt: string | null;
  /** The analysed picture's size. */
  size: { width: number; height: number } | null;
}

/**
 * Decodes a JPEG shrunk on load to `width` pixels, as grey. The grey is made here from the small RGB
 * picture (Rec. 601 luma in integers): libvips' own `greyscale()` goes through its colour management and
 * cost 1.3 ms more per picture than the whole decode at 640x480 (`npm run bench -- motion`).
 */
export async function decodeGrey(
  jpeg: Buffer,
  width: number,
): Promise<{ grey: Uint8Array; width: number; height: number }> {
  const sharp = await loadSharp();
  // A picture claiming more than an 8K sensor has is refused before it is decoded (a hostile or broken
  // camera's header), as is anything that is not a JPEG.
  const { data, info } = await sharp(jpeg, { failOn: "none", limitInputPixels: MAX_INPUT_PIXELS })
    .resize({ width, fastShrinkOnLoad: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { grey: lumaOf(data, info.channels), width: info.width, height: info.height };
}

/** One byte of luma per pixel of `channels`-byte pixels (a grey JPEG's one channel is its luma already). */
export function lumaOf(data: Uint8Array, channels: number): Uint8Array {
  if (channels === 1) return data;
  const grey = new Uint8Array(Math.floor(data.length / channels));
  for (let i = 0, at = 0; i < grey.length; i++, at += channels)
    grey[i] =
      ((data[at] as number) * 77 + (data[at + 1] as number) * 150 + (data[at + 2] as number) * 29) >> 8;
  return grey;
}

class CameraMotion {
  private detector: MotionDetector | undefined;
  private readonly episodes: MotionEpisodes;
  private readonly gate: MotionGate;
  private busy = false;
  private lastTakenAt = 0;
  private stopFrames: (() => void) | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private mailTimer: NodeJS.Timeout | undefined;
  private streamOpen = false;
  private mailOpen = false;
  private closed = false;
  private totalMs = 0;
  /** The last picture that moved, and where: the picture of a start the camera's motion releases. */
  private lastMoved: { jpeg: Buffer; boxes: unknown[] } | undefined;
  readonly status: MotionStatus;

  constructor(
    private readonly entry: CameraEntry,
    private readonly settings: MotionConfig,
    private readonly deps: Pick<SoftwareMotionOptions, "hubs" | "snapshots" | "publisher" | "logger">,
  ) {
    this.episodes = new MotionEpisodes({
      minDurationMs: settings.minDurationMs,
      maxGapMs: Math.max(1000, 2500 / settings.fps),
      holdMs: settings.holdSeconds * 1000,
    });
    this.gate = new MotionGate(settings.use);
    this.status = {
      camera: entry.id,
      use: settings.use,
      state: "waiting",
      picturesAnalysed: 0,
      picturesSkipped: 0,
      undecodable: 0,
      lightChanges: 0,
      episodes: 0,
      meanMs: 0,
      lastPictureAt: null,
      lastMotionAt: null,
      size: null,
    };
  }

  start(): void {
    const intervalMs = 1000 / this.settings.fps;
    if (this.settings.frames === "mjpeg") {
      const hub = this.deps.hubs.hub(this.entry, this.entry.mjpeg.channel, this.entry.mjpeg.subtype);
      this.stopFrames = hub.subscribe((frame) => this.offer(frame.jpeg, frame.receivedAt));
    } else {
      const poll = setInterval(() => void this.snapshot(), intervalMs);
      this.stopFrames = () => clearInterval(poll);
    }
    // Ends an episode when pictures stop coming (the camera went away mid-motion).
    this.ticker = setInterval(() => this.tell(this.episodes.tick(Date.now())), 1000);
  }

  close(): void {
    this.closed = true;
    this.stopFrames?.();
    clearInterval(this.ticker);
    clearTimeout(this.mailTimer);
    // An episode published and going on ends with camgate's watch of it.
    if (this.gate.isPublished) this.publish({ action: "stop", zones: this.gate.currentZones }, undefined);
  }

  /** The camera's own motion (its event stream, or an alarm mail that has no stop). */
  cameraMotion(event: CamgateEvent): void {
    if (event.source === "email") {
      if (event.action === "stop") return;
      clearTimeout(this.mailTimer);
      this.mailOpen = true;
      this.mailTimer = setTimeout(() => {
        this.mailOpen = false;
        this.cameraSays();
      }, MAIL_MOTION_MS);
    } else if (event.action === "start") this.streamOpen = true;
    else if (event.action === "stop") this.streamOpen = false;
    this.cameraSays();
  }

  /** The camera's motion is on while its event stream says so, or for a while after an alarm mail. */
  private cameraSays(): void {
    const open = this.streamOpen || this.mailOpen;
    this.outputs(this.gate.camera(open), open ? this.lastMoved?.jpeg : undefined, this.lastMoved?.boxes);
  }

  private async snapshot(): Promise<void> {
    if (this.busy || this.closed) return;
    try {
      const picture = await this.deps.snapshots.get({
        camera: this.entry.id,
        channel: this.entry.mjpeg.channel,
        maxAgeMs: 1000 / this.settings.fps,
        priority: "background",
      });
      this.offer(picture.jpeg, picture.takenAt);
    } catch {
      // The camera did not answer: the ticker ends an episode, and the next poll tries again.
    }
  }

  private offer(jpeg: Buffer, at: number): void {
    if (this.closed) return;
    if (this.busy || at - this.lastTakenAt < 1000 / this.settings.fps - 5) {
      this.status.picturesSkipped++;
      return;
    }
    this.busy = true;
    this.lastTakenAt = at;
    // Nothing a picture does may reach the hub that handed it over: a failure is counted, never thrown.
    void this.analyse(jpeg, at)
      .catch((error: unknown) => {
        this.status.undecodable++;
        this.deps.logger.debug(
          { camera: this.entry.id, err: errorText(error) },
          "motion: a picture was not judged",
        );
      })
      .finally(() => {
        this.busy = false;
      });
  }

  private async analyse(jpeg: Buffer, at: number): Promise<void> {
    const began = performance.now();
    let picture: Awaited<ReturnType<typeof decodeGrey>>;
    try {
      picture = await decodeGrey(jpeg, this.settings.width);
    } catch {
      this.status.undecodable++;
      return;
    }
    if (this.closed) return;
    if (!this.detector || this.detector.width !== picture.width || this.detector.height !== picture.height) {
      // The first picture, or the stream's size changed: learn again at the new size.
      this.detector = new MotionDetector(
        picture.width,
        picture.height,
        {
          ...DEFAULT_MOTION_SETTINGS,
          threshold: this.settings.threshold,
          minArea: this.settings.minArea,
          lightingFraction: this.settings.lightingFraction,
          warmupFrames: Math.max(3, Math.round(this.settings.fps)),
          // What stays still for 5 s is background (a parked car, the ghost of the first picture).
          absorbFrames: Math.max(5, Math.round(this.settings.fps * 5)),
        },
        this.settings.masks,
        this.settings.zones,
      );
      this.status.size = { width: picture.width, height: picture.height };
    }
    const verdict = this.detector.push(picture.grey);
    this.totalMs += performance.now() - began;
    const status = this.status;
    status.picturesAnalysed++;
    status.meanMs = Math.round((this.totalMs / status.picturesAnalysed) * 100) / 100;
    status.lastPictureAt = new Date(at).toISOString();
    if (verdict.lighting) status.lightChanges++;
    if (verdict.motion) {
      status.lastMotionAt = status.lastPictureAt;
      this.lastMoved = { jpeg, boxes: verdict.boxes };
    } else if (!this.episodes.isActive) this.lastMoved = undefined;
    const change = this.episodes.push(verdict.motion, verdict.zones, at);
    if (change?.kind === "start") status.episodes++;
    status.state = verdict.warmingUp ? "learning" : this.episodes.isActive ? "motion" : "watching";
    this.tell(change, jpeg, verdict.boxes);
  }

  private tell(change: EpisodeChange | undefined, jpeg?: Buffer, boxes?: unknown[]): void {
    if (!change) return;
    if (change.kind === "stop" && this.status.state === "motion") this.status.state = "watching";
    this.outputs(this.gate.software(change), jpeg, boxes);
  }

  private outputs(outputs: GateOutput[], jpeg: Buffer | undefined, boxes?: unknown[]): void {
    for (const output of outputs) this.publish(output, output.action === "stop" ? undefined : jpeg, boxes);
  }

  private publish(output: GateOutput, jpeg: Buffer | undefined, boxes?: unknown[]): void {
    const round = (box: unknown) =>
      Object.fromEntries(
        Object.entries(box as Record<string, number>).map(([key, value]) => [
          key,
          Math.round(value * 1000) / 1000,
        ]),
      );
    void this.deps.publisher.publish({
      camera: this.entry.id,
      source: "motion",
      code: MOTION_CODE,
      action: output.action,
      channel: this.entry.mjpeg.channel - 1,
      data: {
        zones: output.zones,
        ...(output.action === "pulse" ? { allZones: output.allZones } : {}),
        ...(boxes && output.action !== "stop" ? { boxes: boxes.slice(0, 8).map(round) } : {}),
        use: this.settings.use,
      },
      cameraTime: null,
      ...(jpeg ? { snapshotJpeg: jpeg } : {}),
    });
  }
}

export interface SoftwareMotionOptions {
  /** The cameras' config (read when a camera is taken on: a reload re-takes the cameras it changed). */
  cameraConfig: (camera: string) => CameraConfig | undefined;
  hubs: HubRegistry;
  snapshots: SnapshotService;
  publisher: EventPublisher;
  bus: EventBus;
  logger: Logger;
}

export class SoftwareMotion {
  private readonly cameras = new Map<string, CameraMotion>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: SoftwareMotionOptions) {}

  start(): void {
    this.unsubscribe = this.options.bus.subscribe((event) => {
      if (event.code !== MOTION_CODE || (event.source !== "camera" && event.source !== "email")) return;
      this.cameras.get(event.camera)?.cameraMotion(event);
    });
  }

  /** Whether camgate watches this camera for motion (its motion incidents start unconfirmed). */
  watches(camera: string): boolean {
    return this.cameras.has(camera);
  }

  /** Starts watching an owned camera whose config asks for it (again, after a reload changed it). */
  take(entry: CameraEntry): void {
    this.release(entry.id);
    const settings = this.options.cameraConfig(entry.id)?.motion;
    if (!settings?.enabled) return;
    if (settings.frames === "mjpeg" && entry.protocol !== "dahua") {
      this.options.logger.warn(
        { camera: entry.id },
        "motion: an ONVIF camera has no MJPEG stream here; set cameras[].motion.frames to snapshots",
      );
      return;
    }
    const motion = new CameraMotion(entry, settings, this.options);
    this.cameras.set(entry.id, motion);
    try {
      motion.start();
    } catch (error) {
      this.cameras.delete(entry.id);
      motion.close();
      this.options.logger.warn(
        { camera: entry.id, err: errorText(error) },
        "motion: could not start watching",
      );
    }
  }

  release(camera: string): void {
    this.cameras.get(camera)?.close();
    this.cameras.delete(camera);
  }

  status(camera: string): MotionStatus | undefined {
    return this.cameras.get(camera)?.status;
  }

  list(): MotionStatus[] {
    return [...this.cameras.values()].map((motion) => motion.status);
  }

  close(): void {
    this.unsubscribe?.();
    for (const camera of [...this.cameras.keys()]) this.release(camera);
  }
}
