/**
 * Motion in a stream of small grey pictures (camgate decodes the camera's sub-stream shrunk on load to about
 * 160 pixels wide: docs/events.md). Per picture:
 *
 * 1. **Lighting first.** The picture's brightness against the background's over the unmasked pixels gives a
 *    gain; each pixel is compared with its background times that gain, so clouds, a brightness step and the
 *    camera's exposure changes cancel out. When even so more than `lightingFraction` of the picture changed
 *    (the IR cut filter switching to night mode, headlights filling the view) it is a change of light, not
 *    motion: the background is taken from this picture and nothing is reported.
 * 2. **Per-pixel thresholds.** A pixel changed when it differs from its background by more than
 *    `threshold` and by more than `noiseFactor` times its own running mean deviation, so a noisy pixel (grain
 *    at night, leaves that always flicker a little) needs a larger change than a steady one.
 * 3. **Regions.** A majority filter removes isolated pixels and thin strokes (noise, the on-screen clock);
 *    what is left is grouped into 8-connected regions, and only regions of at least `minArea` of the picture
 *    count. Masked pixels never count; zones are reported when a counted region covers enough of them.
 * 4. **The background learns** every pixel that did not change (quickly) and those that did (slowly, so an
 *    object that stops, a parked car, becomes background in about a minute at 5 pictures a second).
 *
 * Pure and allocation-free per picture after the first (the detector keeps its buffers). What counts as an
 * episode (a minimum duration, the time motion must be absent before it ends) is `MotionEpisodes`.
 */
import { MAJORITY, majorityFilter, type Region, regionsOf } from "./components.ts";
import { type Polygon, rasterise } from "./polygon-mask.ts";

export interface MotionSettings {
  /** A pixel must differ from its background by more than this (0-255) to have changed. */
  threshold: number;
  /** ... and by more than this many times its running mean deviation. */
  noiseFactor: number;
  /** A region smaller than this fraction of the picture is not motion. */
  minArea: number;
  /** More than this fraction of the unmasked picture changed at once: a change of light, not motion. */
  lightingFraction: number;
  /** How fast the background follows pixels that did not change (per picture). */
  learnRate: number;
  /** Pictures at the start that only teach the background. */
  warmupFrames: number;
}

export const DEFAULT_MOTION_SETTINGS: MotionSettings = {
  threshold: 20,
  noiseFactor: 4,
  minArea: 0.004,
  lightingFraction: 0.3,
  learnRate: 0.05,
  warmupFrames: 5,
};

export interface NamedPolygon {
  name: string;
  points: Polygon;
}

export interface MotionFrameVerdict {
  /** At least one region large enough moved. */
  motion: boolean;
  /** The picture was a change of light (reported as no motion; the background starts again from it). */
  lighting: boolean;
  /** Still learning the background (the first pictures). */
  warmingUp: boolean;
  /** Fraction of the unmasked picture that changed before the regions were formed. */
  changedFraction: number;
  /** The counted regions, largest first, as boxes in 0..1 coordinates. */
  boxes: { x: number; y: number; width: number; height: number; area: number }[];
  /** The zones a counted region covers. */
  zones: string[];
}

export class MotionDetector {
  private readonly size: number;
  private readonly background: Float32Array;
  private readonly deviation: Float32Array;
  private readonly changed: Uint8Array;
  private readonly filtered: Uint8Array;
  private readonly stack: Int32Array;
  /** 1 where pixels count (not masked). */
  private readonly live: Uint8Array;
  private readonly liveCount: number;
  private readonly zoneMasks: { name: string; bitmap: Uint8Array; pixels: number }[];
  private frames = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly settings: MotionSettings = DEFAULT_MOTION_SETTINGS,
    masks: readonly Polygon[] = [],
    zones: readonly NamedPolygon[] = [],
  ) {
    this.size = width * height;
    this.background = new Float32Array(this.size);
    this.deviation = new Float32Array(this.size);
    this.changed = new Uint8Array(this.size);
    this.filtered = new Uint8Array(this.size);
    this.stack = new Int32Array(this.size);
    const masked = rasterise(masks, width, height);
    this.live = masked.map((m) => 1 - m);
    this.liveCount = this.live.reduce((sum, v) => sum + v, 0);
    this.zoneMasks = zones.map((zone) => {
      const bitmap = rasterise([zone.points], width, height);
      return { name: zone.name, bitmap, pixels: bitmap.reduce((sum, v) => sum + v, 0) };
    });
  }

  /** The smallest region that counts, in pixels. */
  get minAreaPixels(): number {
    return Math.max(MAJORITY, Math.round(this.settings.minArea * this.size));
  }

  /** Looks at one grey picture (`width`×`height` bytes, row by row). */
  push(grey: Uint8Array): MotionFrameVerdict {
    if (grey.length < this.size)
      throw new RangeError(`a ${this.width}x${this.height} picture needs ${this.size} bytes`);
    const quiet = { motion: false, boxes: [], zones: [] };
    if (this.liveCount === 0) return { ...quiet, lighting: false, warmingUp: false, changedFraction: 0 };
    const { settings, background, deviation, live, changed } = this;
    this.frames++;
    if (this.frames === 1) {
      for (let i = 0; i < this.size; i++) background[i] = grey[i] as number;
      return { ...quiet, lighting: false, warmingUp: true, changedFraction: 0 };
    }
    let pictureSum = 0;
    let backgroundSum = 0;
    for (let i = 0; i < this.size; i++) {
      if (live[i] === 0) continue;
      pictureSum += grey[i] as number;
      backgroundSum += background[i] as number;
    }
    // A black picture against a black background has no gain to speak of.
    const gain = backgroundSum > this.liveCount ? pictureSum / backgroundSum : 1;
    let changedCount = 0;
    for (let i = 0; i < this.size; i++) {
      const expected = (background[i] as number) * gain;
      const difference = Math.abs((grey[i] as number) - expected);
      const isChanged =
        live[i] === 1 &&
        difference > settings.threshold &&
        difference > settings.noiseFactor * (deviation[i] as number);
      changed[i] = isChanged ? 1 : 0;
      if (isChanged) changedCount++;
      // Each pixel's deviation learns what it usually does: quickly while it is quiet, slowly while it moves.
      const rate = isChanged ? settings.learnRate / 20 : settings.learnRate;
      deviation[i] = (deviation[i] as number) + rate * (difference - (deviation[i] as number));
    }
    const changedFraction = changedCount / this.liveCount;
    const warmingUp = this.frames <= settings.warmupFrames;
    if (changedFraction > settings.lightingFraction || warmingUp) {
      // A change of light (or the first pictures): start again from this picture.
      for (let i = 0; i < this.size; i++) background[i] = grey[i] as number;
      return { ...quiet, lighting: !warmingUp, warmingUp, changedFraction };
    }
    majorityFilter(changed, this.width, this.height, this.filtered);
    const regions = regionsOf(this.filtered, this.width, this.height, this.minAreaPixels, this.stack);
    this.learn(grey, gain);
    return {
      motion: regions.length > 0,
      lighting: false,
      warmingUp: false,
      changedFraction,
      boxes: regions.map((region) => this.box(region)),
      zones: regions.length > 0 ? this.zonesOf(regions) : [],
    };
  }

  private learn(grey: Uint8Array, gain: number): void {
    const { background, changed, settings } = this;
    const fast = settings.learnRate;
    const slow = settings.learnRate / 20;
    for (let i = 0; i < this.size; i++) {
      // The background follows the light (the gain) at once and the picture at the learning rate.
      const expected = (background[i] as number) * gain;
      const rate = changed[i] === 1 ? slow : fast;
      background[i] = expected + rate * ((grey[i] as number) - expected);
    }
  }

  private box(region: Region): MotionFrameVerdict["boxes"][number] {
    return {
      x: region.left / this.width,
      y: region.top / this.height,
      width: (region.right - region.left + 1) / this.width,
      height: (region.bottom - region.top + 1) / this.height,
      area: region.area / this.size,
    };
  }

  /** The zones where the counted regions' changed pixels cover at least half the smallest region that counts. */
  private zonesOf(regions: Region[]): string[] {
    const need = Math.max(1, Math.ceil(this.minAreaPixels / 2));
    const names: string[] = [];
    for (const zone of this.zoneMasks) {
      let inside = 0;
      for (const region of regions) {
        for (let y = region.top; y <= region.bottom && inside < need; y++)
          for (let x = region.left; x <= region.right; x++) {
            const at = y * this.width + x;
            inside += (this.filtered[at] as number) & (zone.bitmap[at] as number);
          }
      }
      if (inside >= need) names.push(zone.name);
    }
    return names;
  }
}
