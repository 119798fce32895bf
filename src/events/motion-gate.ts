/**
 * What camgate's motion detection tells the event pipeline, per camera (pure):
 *
 * - `use: detect` (the camera's own detection is off or poor): every episode is published, its start makes
 *   or joins a motion incident and confirms it.
 * - `use: confirm` (the default): an episode is published only while the camera's own motion is on, so it
 *   joins the camera's incident and confirms it; motion camgate sees while the camera saw none is not an
 *   incident of its own. An episode that began before the camera's start (camgate decodes faster than some
 *   firmware reports) is published when the camera's start arrives, and it ends with the camera's stop.
 *
 * Zones entered during a published episode are told as a `pulse` naming the zones just entered, so a
 * notification for the driveway goes out when someone walks from the street into it.
 */
import type { EpisodeChange } from "../media/motion/motion-episodes.ts";

export type MotionUse = "confirm" | "detect";

export type GateOutput =
  | { action: "start"; zones: string[] }
  | { action: "pulse"; zones: string[]; allZones: string[] }
  | { action: "stop"; zones: string[] };

export class MotionGate {
  private cameraOpen = false;
  private active = false;
  private published = false;
  private zones: string[] = [];

  constructor(private readonly use: MotionUse) {}

  get isPublished(): boolean {
    return this.published;
  }

  /** The zones of the episode going on (or last). */
  get currentZones(): string[] {
    return this.zones;
  }

  /** The camera's own motion started (`true`) or stopped. */
  camera(open: boolean): GateOutput[] {
    if (open === this.cameraOpen || this.use === "detect") {
      this.cameraOpen = open;
      return [];
    }
    this.cameraOpen = open;
    if (open && this.active && !this.published) {
      this.published = true;
      return [{ action: "start", zones: this.zones }];
    }
    if (!open && this.published) {
      this.published = false;
      return [{ action: "stop", zones: this.zones }];
    }
    return [];
  }

  /** camgate's own episode changed. */
  software(change: EpisodeChange): GateOutput[] {
    this.zones = change.zones;
    switch (change.kind) {
      case "start":
        this.active = true;
        if (this.use === "confirm" && !this.cameraOpen) return [];
        this.published = true;
        return [{ action: "start", zones: change.zones }];
      case "zones":
        return this.published ? [{ action: "pulse", zones: change.added, allZones: change.zones }] : [];
      case "stop":
        this.active = false;
        if (!this.published) return [];
        this.published = false;
        return [{ action: "stop", zones: change.zones }];
    }
  }
}
