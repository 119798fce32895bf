/**
 * Pan/tilt/zoom state of an emulated PTZ camera. The position moves with time and speed while a move is
 * active, and is computed when read, so no timer runs while the camera sits still.
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
  panRate: number;
  tiltRate: number;
  zoomRate: number;
  since: number;
  /** Absolute stop time for `Continuously` with a timeout. */
  until?: number;
}

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
  private motion: Motion | undefined;
  private readonly presets = new Map<number, Preset>();
  lastAction = "Preset";
  presetId = 0;

  constructor(private readonly now: () => number = Date.now) {}

  position(): PtzPosition {
    const motion = this.motion;
    if (!motion) return { ...this.base };
    const end = motion.until === undefined ? this.now() : Math.min(this.now(), motion.until);
    const seconds = Math.max(0, end - motion.since) / 1000;
    return {
      pan: (((this.base.pan + motion.panRate * seconds) % 360) + 360) % 360,
      tilt: clamp(this.base.tilt + motion.tiltRate * seconds, TILT_MIN, TILT_MAX),
      zoom: clamp(this.base.zoom + motion.zoomRate * seconds, ZOOM_MIN, ZOOM_MAX),
    };
  }

  isMoving(): boolean {
    if (!this.motion) return false;
    return this.motion.until === undefined || this.now() < this.motion.until;
  }

  /** `start` with a direction code and `arg1`/`arg2` speeds; false for an unknown code. */
  startMove(code: string, arg1: number, arg2: number): boolean {
    const direction = DIRECTIONS[code];
    if (direction) {
      // Diagonals: arg1 is the vertical speed, arg2 the horizontal one; straight moves use arg2 (§2.6).
      const horizontal = clamp(arg2 || 1, 1, 8);
      const vertical = code.length > 5 ? clamp(arg1 || 1, 1, 8) : horizontal;
      this.begin(
        direction[0] * horizontal * DEGREES_PER_SPEED,
        direction[1] * vertical * DEGREES_PER_SPEED,
        0,
      );
      return true;
    }
    // python-amcrest's zoom_in sends ZoomTele; the spec's labels are swapped (reference §2.6).
    if (code === "ZoomTele" || code === "ZoomWide") {
      this.begin(0, 0, code === "ZoomTele" ? ZOOM_PER_SECOND : -ZOOM_PER_SECOND);
      return true;
    }
    if (code === "FocusNear" || code === "FocusFar" || code === "IrisLarge" || code === "IrisSmall")
      return true;
    return false;
  }

  /** `code=Continuously`: arg1 pan, arg2 tilt, arg3 zoom speed (−100..100 scaled), arg4 timeout in seconds. */
  continuously(pan: number, tilt: number, zoom: number, timeoutSeconds: number): void {
    this.begin(pan * (DEGREES_PER_SPEED / 8), tilt * (DEGREES_PER_SPEED / 8), (zoom / 100) * ZOOM_PER_SECOND);
    if (timeoutSeconds > 0 && this.motion)
      this.motion.until = this.now() + Math.min(timeoutSeconds, 3600) * 1000;
  }

  stop(): void {
    this.base = this.position();
    this.motion = undefined;
  }

  moveAbsolutely(position: PtzPosition): void {
    this.motion = undefined;
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

  private begin(panRate: number, tiltRate: number, zoomRate: number): void {
    this.base = this.position();
    this.motion = { panRate, tiltRate, zoomRate, since: this.now() };
    this.lastAction = "Continuously";
    this.presetId = 0;
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
