/**
 * Motion in a stream of small grey pictures (camgate decodes the camera's sub-stream shrunk on load to about
 * 160 pixels wide: docs/events.md). Per picture:
 *
 * 1. **Lighting first.** The picture's brightness against the background's, block by block (8×6 blocks,
 *    each block's gain the median of its 3×3 neighbourhood so that one object cannot set it, interpolated
 *    between block centres), gives each pixel a gain; each pixel is compared with its background times
 *    that gain, so clouds, a brightness step, the camera's exposure and the IR lamps' bright centre after
 *    the switch to night mode cancel out. When even so more than `lightingFraction` of the picture changed
 *    (headlights filling the view, a light switched on in the room), or changes are spread over most of
 *    the picture's blocks at once (the IR cut filter: every colour turns a different grey), it is a
 *    change of light, not motion: the background is taken from this picture and nothing is reported.
 * 2. **Per-pixel thresholds.** A pixel changed when it differs from its background by more than
 *    `threshold` and by more than `noiseFactor` times its own running mean deviation, so a noisy pixel (grain
 *    at night, leaves that always flicker a little) needs a larger change than a steady one.
 * 3. **Regions.** A majority filter removes isolated pixels and thin strokes (noise, the on-screen clock);
 *    what is left is grouped into 8-connected regions, and only regions of at least `minArea` of the picture
 *    count. Masked pixels never count; zones are reported when a counted region covers enough of them.
 * 4. **The background learns** every pixel that did not change (quickly) and those that did (slowly); a
 *    pixel changed in `absorbFrames` pictures in a row is something that stays (a car that parked, or the
 *    "ghost" of what was there while the background was learned) and becomes background at once.
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
  /** A pixel changed in this many pictures in a row is taken into the background (5 s at 5 a second). */
  absorbFrames: number;
}

export const DEFAULT_MOTION_SETTINGS: MotionSettings = {
  threshold: 20,
  noiseFactor: 4,
  minArea: 0.004,
  lightingFraction: 0.3,
  learnRate: 0.05,
  warmupFrames: 5,
  absorbFrames: 25,
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
  /** Pictures in a row each pixel has changed in. */
  private readonly streak: Uint16Array;
  private readonly filtered: Uint8Array;
  private readonly stack: Int32Array;
  /** 1 where pixels count (not masked). */
  private readonly live: Uint8Array;
  private readonly liveCount: number;
  private readonly zoneMasks: { name: string; bitmap: Uint8Array; pixels: number }[];
  private frames = 0;
  private readonly gains: LocalGain;

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
    this.streak = new Uint16Array(this.size);
    this.filtered = new Uint8Array(this.size);
    this.stack = new Int32Array(this.size);
    const masked = rasterise(masks, width, height);
    this.live = masked.map((m) => 1 - m);
    this.liveCount = this.live.reduce((sum, v) => sum + v, 0);
    this.gains = new LocalGain(width, height, this.live);
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
    const gain = this.gains.measure(grey, background);
    let changedCount = 0;
    for (let i = 0; i < this.size; i++) {
      const expected = (background[i] as number) * (gain[i] as number);
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
    if (
      changedFraction > settings.lightingFraction ||
      this.gains.spread(changed) > LIGHT_SPREAD ||
      warmingUp
    ) {
      // A change of light (or the first pictures): start again from this picture.
      for (let i = 0; i < this.size; i++) background[i] = grey[i] as number;
      this.streak.fill(0);
      return { ...quiet, lighting: !warmingUp, warmingUp, changedFraction };
    }
    majorityFilter(changed, this.width, this.height, this.filtered);
    const regions = regionsOf(this.filtered, this.width, this.height, this.minAreaPixels, this.stack);
    this.learn(grey);
    return {
      motion: regions.length > 0,
      lighting: false,
      warmingUp: false,
      changedFraction,
      boxes: regions.map((region) => this.box(region)),
      zones: regions.length > 0 ? this.zonesOf(regions) : [],
    };
  }

  /**
   * The background follows the picture at the learning rate; the light's gain is not folded in (the gain
   * measured next time covers what the background has not caught up with yet). Folding a measured gain in
   * at every picture would make the background a random walk of the measurement's noise.
   */
  private learn(grey: Uint8Array): void {
    const { background, changed, settings, streak } = this;
    const fast = settings.learnRate;
    const slow = settings.learnRate / 20;
    for (let i = 0; i < this.size; i++) {
      if (changed[i] === 0) streak[i] = 0;
      else if ((streak[i] as number) < 65_535) streak[i] = (streak[i] as number) + 1;
      // Changed for long enough without moving on: it stays, and is background from now on.
      const rate = changed[i] === 0 ? fast : (streak[i] as number) >= settings.absorbFrames ? 1 : slow;
      background[i] = (background[i] as number) + rate * ((grey[i] as number) - (background[i] as number));
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

const BLOCKS_X = 8;
const BLOCKS_Y = 6;
/**
 * Changes in more than this fraction of the blocks at once are light, not motion: a person fills a few
 * blocks, even near the camera; the IR switch and a light switched on change something everywhere.
 */
const LIGHT_SPREAD = 0.6;
/** A block takes part in a change when this fraction of its pixels changed. */
const BLOCK_CHANGED = 0.05;

/**
 * The light's change per pixel: each block's brightness ratio (picture over background, unmasked pixels),
 * and through them a smooth surface, a quadratic in x and y fitted by least squares, then fitted again
 * without the blocks it explains worst (an object covering a block or two is not light; the fit keeps at
 * least three quarters of the blocks). A quadratic follows what light does to a picture: a uniform step,
 * a gradient (the sun low on one side), the IR lamps' bright centre falling off to the corners.
 */
class LocalGain {
  private readonly perPixel: Float32Array;
  private readonly blockOf: Uint16Array;
  private readonly pictureSums = new Float64Array(BLOCKS_X * BLOCKS_Y);
  private readonly backgroundSums = new Float64Array(BLOCKS_X * BLOCKS_Y);
  private readonly ratios = new Float64Array(BLOCKS_X * BLOCKS_Y);
  private readonly kept = new Uint8Array(BLOCKS_X * BLOCKS_Y);

  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly live: Uint8Array,
  ) {
    this.perPixel = new Float32Array(width * height);
    this.blockOf = new Uint16Array(width * height);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        this.blockOf[y * width + x] =
          Math.min(BLOCKS_Y - 1, Math.floor((y * BLOCKS_Y) / height)) * BLOCKS_X +
          Math.min(BLOCKS_X - 1, Math.floor((x * BLOCKS_X) / width));
  }

  /** The fraction of blocks (with pixels that count) where at least BLOCK_CHANGED of the pixels changed. */
  spread(changed: Uint8Array): number {
    const counts = this.pictureSums;
    const totals = this.backgroundSums;
    counts.fill(0);
    totals.fill(0);
    for (let i = 0; i < changed.length; i++) {
      if (this.live[i] === 0) continue;
      const block = this.blockOf[i] as number;
      totals[block] = (totals[block] as number) + 1;
      counts[block] = (counts[block] as number) + (changed[i] as number);
    }
    let blocks = 0;
    let active = 0;
    for (let b = 0; b < counts.length; b++) {
      if ((totals[b] as number) === 0) continue;
      blocks++;
      if ((counts[b] as number) >= BLOCK_CHANGED * (totals[b] as number)) active++;
    }
    return blocks === 0 ? 0 : active / blocks;
  }

  measure(grey: Uint8Array, background: Float32Array): Float32Array {
    const { pictureSums, backgroundSums, ratios, kept, live, blockOf } = this;
    pictureSums.fill(0);
    backgroundSums.fill(0);
    for (let i = 0; i < grey.length && i < blockOf.length; i++) {
      if (live[i] === 0) continue;
      const block = blockOf[i] as number;
      pictureSums[block] = (pictureSums[block] as number) + (grey[i] as number);
      backgroundSums[block] = (backgroundSums[block] as number) + (background[i] as number);
    }
    // A block mostly masked, or black against black, says nothing about the light.
    const pixelsPerBlock = (this.width * this.height) / (BLOCKS_X * BLOCKS_Y);
    for (let b = 0; b < ratios.length; b++) {
      const usable = (backgroundSums[b] as number) > pixelsPerBlock * 4;
      kept[b] = usable ? 1 : 0;
      ratios[b] = usable ? (pictureSums[b] as number) / (backgroundSums[b] as number) : 1;
    }
    let surface = fitQuadratic(ratios, kept);
    if (surface) {
      // Refit without the quarter of the blocks the surface explains worst (objects, not light).
      const residuals: { block: number; error: number }[] = [];
      for (let b = 0; b < ratios.length; b++)
        if (kept[b] === 1)
          residuals.push({ block: b, error: Math.abs((ratios[b] as number) - evaluate(surface, b)) });
      residuals.sort((a, b) => b.error - a.error);
      for (const { block } of residuals.slice(0, Math.floor(residuals.length / 4))) kept[block] = 0;
      surface = fitQuadratic(ratios, kept) ?? surface;
    }
    for (let y = 0; y < this.height; y++) {
      const v = ((y + 0.5) / this.height) * 2 - 1;
      for (let x = 0; x < this.width; x++) {
        const u = ((x + 0.5) / this.width) * 2 - 1;
        this.perPixel[y * this.width + x] = surface ? Math.max(0.05, at(surface, u, v)) : 1;
      }
    }
    return this.perPixel;
  }
}

/** The terms of the surface at (u, v), both in -1..1: 1, u, v, u², uv, v². */
function terms(u: number, v: number): number[] {
  return [1, u, v, u * u, u * v, v * v];
}

/** The surface at (u, v); written out, as it runs once per pixel per picture. */
function at(c: number[], u: number, v: number): number {
  return (
    (c[0] as number) +
    (c[1] as number) * u +
    (c[2] as number) * v +
    (c[3] as number) * u * u +
    (c[4] as number) * u * v +
    (c[5] as number) * v * v
  );
}

/** The surface at a block's centre. */
function evaluate(coefficients: number[], block: number): number {
  const bx = block % BLOCKS_X;
  const by = (block - bx) / BLOCKS_X;
  return at(coefficients, ((bx + 0.5) / BLOCKS_X) * 2 - 1, ((by + 0.5) / BLOCKS_Y) * 2 - 1);
}

/**
 * Least squares of the kept blocks' ratios on the six terms (normal equations, Gaussian elimination with
 * partial pivoting); undefined when too few blocks are kept or they do not determine a quadratic (a fit of
 * a constant is returned then, when there is a block at all).
 */
function fitQuadratic(ratios: Float64Array, kept: Uint8Array): number[] | undefined {
  const normal = Array.from({ length: 6 }, () => new Array<number>(7).fill(0));
  let count = 0;
  let sum = 0;
  for (let b = 0; b < ratios.length; b++) {
    if (kept[b] === 0) continue;
    const bx = b % BLOCKS_X;
    const by = (b - bx) / BLOCKS_X;
    const t = terms(((bx + 0.5) / BLOCKS_X) * 2 - 1, ((by + 0.5) / BLOCKS_Y) * 2 - 1);
    const r = ratios[b] as number;
    count++;
    sum += r;
    for (let i = 0; i < 6; i++) {
      const row = normal[i] as number[];
      for (let j = 0; j < 6; j++) row[j] = (row[j] as number) + (t[i] as number) * (t[j] as number);
      row[6] = (row[6] as number) + (t[i] as number) * r;
    }
  }
  if (count === 0) return undefined;
  const constant = [sum / count, 0, 0, 0, 0, 0];
  if (count < 12) return constant;
  for (let col = 0; col < 6; col++) {
    let pivot = col;
    for (let row = col + 1; row < 6; row++)
      if (
        Math.abs((normal[row] as number[])[col] as number) >
        Math.abs((normal[pivot] as number[])[col] as number)
      )
        pivot = row;
    if (Math.abs((normal[pivot] as number[])[col] as number) < 1e-9) return constant;
    [normal[col], normal[pivot]] = [normal[pivot] as number[], normal[col] as number[]];
    const lead = normal[col] as number[];
    for (let row = 0; row < 6; row++) {
      if (row === col) continue;
      const target = normal[row] as number[];
      const factor = (target[col] as number) / (lead[col] as number);
      for (let k = col; k < 7; k++) target[k] = (target[k] as number) - factor * (lead[k] as number);
    }
  }
  return normal.map((row, i) => (row[6] as number) / (row[i] as number));
}
