/**
 * Pan/tilt/zoom state of an emulated PTZ camera. The position moves with time and speed while a move is
 * active, and is computed when read, so no timer runs while the camera sits still.
 *
 * Pan/tilt and zoom are separate motions (a camera can pan while it zooms), and each is stopped only by
 * `action=stop` with the code that started it, as firmware does (reference §2.6: "Stop with action=stop and
 * the same code"): a stop with another known code is answered OK and changes nothing [INFERRED from the
 * spec's wording; python-amcrest and Home Assistant always stop with the starting code].
 */

export interface PtzPosition {
  pan: number;
  tilt: number;
  zoom: number;
}

export interface Preset {
  index: number;
  name: string;
  position: PtzPosition;
}

interface Motion {
  /** The code that started it; only a stop with this code ends it. */
  code: string;
  panRate: number;
  tiltRate: number;
  zoomRate: number;
  since: number;
  /** Absolute stop time for `Continuously` with a timeout. */
  until?: number;
}

type Axis = "pan-tilt" | "zoom";

/** Codes `action=stop` accepts (the motion codes, and the focus and iris ones, which start no motion here). */
const STOPPABLE = new Set([
  "Up",
  "Down",
  "Left",
  "Right",
  "LeftUp",
  "RightUp",
  "LeftDown",
  "RightDown",
  "ZoomTele",
  "ZoomWide",
  "Continuously",
  "FocusNear",
  "FocusFar",
  "IrisLarge",
  "IrisSmall",
]);

/** Degrees per second for speed 1..8 (reference §2.6: arg2 is speed 1–8). */
const DEGREES_PER_SPEED = 6;
const ZOOM_PER_SECOND = 2;
const TILT_MIN = -15;
const TILT_MAX = 90;
const ZOOM_MIN = 1;
const ZOOM_MAX = 4;

const DIRECTIONS: Record<string, readonly [pan: number, tilt: number]> = {
  Left: [-1, 0],
  Right: [1, 0],
  Up: [0, 1],
  Down: [0, -1],
  LeftUp: [-1, 1],
  RightUp: [1, 1],
  LeftDown: [-1, -1],
  RightDown: [1, -1],
};

export class PtzState {
  private base: PtzPosition = { pan: 0, tilt: 0, zoom: 1 };
  private readonly motions = new Map<Axis, Motion>();
  private readonly presets = new Map<number, Preset>();
  lastAction = "Preset";
  presetId = 0;

  constructor(private readonly now: () => number = Date.now) {}

  position(): PtzPosition {
    let { pan, tilt, zoom } = this.base;
    for (const motion of this.motions.values()) {
      const end = motion.until === undefined ? this.now() : Math.min(this.now(), motion.until);
      const seconds = Math.max(0, end - motion.since) / 1000;
      pan += motion.panRate * seconds;
      tilt += motion.tiltRate * seconds;
      zoom += motion.zoomRate * seconds;
    }
    return {
      pan: ((pan % 360) + 360) % 360,
      tilt: clamp(tilt, TILT_MIN, TILT_MAX),
      zoom: clamp(zoom, ZOOM_MIN, ZOOM_MAX),
    };
  }

  isMoving(): boolean {
    return this.isPanning() || this.isZooming();
  }

  isPanning(): boolean {
    return this.running("pan-tilt");
  }

  isZooming(): boolean {
    return this.running("zoom");
  }

  private running(axis: Axis): boolean {
    const motion = this.motions.get(axis);
    return motion !== undefined && (motion.until === undefined || this.now() < motion.until);
  }

  /** `start` with a direction code and `arg1`/`arg2` speeds; false for an unknown code. */
  startMove(code: string, arg1: number, arg2: number): boolean {
    const direction = DIRECTIONS[code];
    if (direction) {
      // Diagonals: arg1 is the vertical speed, arg2 the horizontal one; straight moves use arg2 (§2.6).
      const horizontal = clamp(arg2 || 1, 1, 8);
      const vertical = code.length > 5 ? clamp(arg1 || 1, 1, 8) : horizontal;
      this.begin("pan-tilt", {
        code,
        panRate: direction[0] * horizontal * DEGREES_PER_SPEED,
        tiltRate: direction[1] * vertical * DEGREES_PER_SPEED,
        zoomRate: 0,
      });
      return true;
    }
    // python-amcrest's zoom_in sends ZoomTele; the spec's labels are swapped (reference §2.6).
    if (code === "ZoomTele" || code === "ZoomWide") {
      this.begin("zoom", {
        code,
        panRate: 0,
        tiltRate: 0,
        zoomRate: code === "ZoomTele" ? ZOOM_PER_SECOND : -ZOOM_PER_SECOND,
      });
      return true;
    }
    if (code === "FocusNear" || code === "FocusFar" || code === "IrisLarge" || code === "IrisSmall")
      return true;
    return false;
  }

  /** `code=Continuously`: arg1 pan, arg2 tilt, arg3 zoom speed (−100..100 scaled), arg4 timeout in seconds. */
  continuously(pan: number, tilt: number, zoom: number, timeoutSeconds: number): void {
    // One motion on both axes, stopped by `stop&code=Continuously` or its timeout.
    this.settle();
    this.motions.clear();
    this.begin("pan-tilt", {
      code: "Continuously",
      panRate: pan * (DEGREES_PER_SPEED / 8),
      tiltRate: tilt * (DEGREES_PER_SPEED / 8),
      zoomRate: (zoom / 100) * ZOOM_PER_SECOND,
      ...(timeoutSeconds > 0 ? { until: this.now() + Math.min(timeoutSeconds, 3600) * 1000 } : {}),
    });
  }

  /**
   * `action=stop&code=<code>`: ends the motion that `code` started; another known code changes nothing.
   * False for a missing or unknown code (the firmware answers an error).
   */
  stop(code: string): boolean {
    if (!STOPPABLE.has(code)) return false;
    for (const [axis, motion] of this.motions) {
      if (motion.code !== code) continue;
      this.settle();
      this.motions.delete(axis);
    }
    return true;
  }

  /** Every motion ends where it is (a reboot). */
  halt(): void {
    this.settle();
    this.motions.clear();
  }

  moveAbsolutely(position: PtzPosition): void {
    this.motions.clear();
    this.base = {
      pan: ((position.pan % 360) + 360) % 360,
      tilt: clamp(position.tilt, TILT_MIN, TILT_MAX),
      zoom: clamp(position.zoom, ZOOM_MIN, ZOOM_MAX),
    };
    this.lastAction = "AbsoluteMove";
  }

  setPreset(index: number, name?: string): void {
    const existing = this.presets.get(index);
    this.presets.set(index, {
      index,
      name: name ?? existing?.name ?? `Preset${index}`,
      position: this.position(),
    });
  }

  renamePreset(index: number, name: string): boolean {
    const preset = this.presets.get(index);
    if (!preset) return false;
    preset.name = name;
    return true;
  }

  clearPreset(index: number): boolean {
    return this.presets.delete(index);
  }

  gotoPreset(index: number): boolean {
    const preset = this.presets.get(index);
    if (!preset) return false;
    this.moveAbsolutely(preset.position);
    this.lastAction = "Preset";
    this.presetId = index;
    return true;
  }

  listPresets(): Preset[] {
    return [...this.presets.values()].sort((a, b) => a.index - b.index);
  }

  private begin(axis: Axis, motion: Omit<Motion, "since">): void {
    this.settle();
    this.motions.set(axis, { ...motion, since: this.now() });
    this.lastAction = "Continuously";
    this.presetId = 0;
  }

  /** Folds the motion so far into the base position, restarting every motion's clock from now. */
  private settle(): void {
    const now = this.now();
    this.base = this.position();
    for (const [axis, motion] of this.motions) {
      if (motion.until !== undefined && now >= motion.until) this.motions.delete(axis);
      else motion.since = now;
    }
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
