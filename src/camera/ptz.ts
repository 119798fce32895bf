/**
 * PTZ for one camera: runs `PtzCommand`s (`camera/ptz-command.ts`) as ptz.cgi calls, and owns what a command
 * leaves running: the motions camgate started and their auto-stop timers.
 *
 * Dahua firmware stops a motion only with `action=stop` and the *same code* that started it (reference
 * §2.6), so camgate remembers, per channel and axis (pan/tilt, zoom), the code it started; a stop names the
 * axis, and is sent with the remembered code. Commands of one camera run one after another, so a release
 * (stop) can never overtake its press (move) on the way to the camera.
 */
import { getAtPath, type JsonObject, kvToTree, parseKvLines } from "../protocol/kv.ts";
import type { CameraApi } from "./api.ts";
import { InOrder } from "./in-order.ts";
import type { PtzCommand, PtzDirection, ZoomDirection } from "./ptz-command.ts";

export * from "./ptz-command.ts";

export interface PtzStatus {
  action: string | undefined;
  moving: boolean;
  /** pan (degrees), tilt (degrees), zoom, from the firmware's `status.Postion[n]` spelling. */
  position: { pan: number; tilt: number; zoom: number } | undefined;
  presetId: number | undefined;
}

export interface PtzPreset {
  index: number;
  name: string;
}

export interface PtzOutcome {
  /** When a timed move or zoom stops by itself (ms since epoch). */
  stopsAt?: number;
  /** Settles when the timed stop has been sent (the CLI waits for it before it exits). */
  stopped?: Promise<void>;
}

/**
 * What every part asks of a camera's PTZ (REST, MQTT, the ONVIF face, the CLI), whichever protocol runs it:
 * `PtzController` for Dahua's CGI, `OnvifPtz` (camera/onvif/onvif-ptz.ts) for ONVIF cameras.
 */
export interface CameraPtz {
  run(command: PtzCommand): Promise<PtzOutcome>;
  status(channel?: number): Promise<PtzStatus>;
  presets(channel?: number): Promise<PtzPreset[]>;
  hasPtz(channel?: number): Promise<boolean>;
  close(): void;
}

type Axis = "pan-tilt" | "zoom";

interface Motion {
  code: string;
  timer: NodeJS.Timeout | undefined;
  /** Settles the outcome's `stopped` (also when the timer is cancelled by a newer command). */
  settle: () => void;
}

/** ptz.cgi codes (reference §2.6). */
const DIRECTION_CODES: Record<PtzDirection, string> = {
  up: "Up",
  down: "Down",
  left: "Left",
  right: "Right",
  leftup: "LeftUp",
  rightup: "RightUp",
  leftdown: "LeftDown",
  rightdown: "RightDown",
};

/** Zoom in sends ZoomTele: python-amcrest's zoom_in does; the spec's labels are swapped (reference §2.6). */
const ZOOM_CODES: Record<ZoomDirection, string> = { in: "ZoomTele", out: "ZoomWide" };

const axisOf = (direction: PtzDirection | ZoomDirection): Axis =>
  direction === "in" || direction === "out" ? "zoom" : "pan-tilt";

const codeOf = (direction: PtzDirection | ZoomDirection): string =>
  direction === "in" || direction === "out" ? ZOOM_CODES[direction] : DIRECTION_CODES[direction];

export class PtzController implements CameraPtz {
  /** `<channel>/<axis>` → the motion camgate started there and has not stopped. */
  private readonly motions = new Map<string, Motion>();
  private readonly order = new InOrder();
  private closed = false;

  constructor(private readonly api: CameraApi) {}

  /** Runs a command after the ones before it; resolves when the camera said OK. */
  run(command: PtzCommand): Promise<PtzOutcome> {
    return this.order.run(() => this.execute(command));
  }

  async status(channel = 1): Promise<PtzStatus> {
    const fields = Object.fromEntries(parseKvLines(await this.read("getStatus", channel)));
    // Firmware spells it `Postion` (bcpearce `ptz_status.json`); accept the correct spelling too.
    const at = (i: number) => fields[`status.Postion[${i}]`] ?? fields[`status.Position[${i}]`];
    const pan = at(0);
    const tilt = at(1);
    const zoom = at(2);
    return {
      action: fields["status.Action"],
      moving: fields["status.MoveStatus"] === "Moving" || fields["status.ZoomStatus"] === "Moving",
      position:
        pan !== undefined && tilt !== undefined
          ? { pan: Number(pan), tilt: Number(tilt), zoom: Number(zoom ?? 1) }
          : undefined,
      presetId: fields["status.PresetID"] === undefined ? undefined : Number(fields["status.PresetID"]),
    };
  }

  /** Presets; an empty body means none (bcpearce `ptz_config_presets_empty.json`). */
  async presets(channel = 1): Promise<PtzPreset[]> {
    const tree = kvToTree(parseKvLines(await this.read("getPresets", channel)), { coerce: false });
    const presets = Array.isArray(tree.presets) ? tree.presets : [];
    return presets
      .filter((p): p is JsonObject => p !== null && typeof p === "object" && !Array.isArray(p))
      .map((p) => ({ index: Number(p.Index), name: String(p.Name ?? "") }))
      .filter((p) => Number.isInteger(p.index));
  }

  async caps(channel = 1): Promise<JsonObject> {
    const caps = getAtPath(kvToTree(parseKvLines(await this.read("getCurrentProtocolCaps", channel))), [
      "caps",
    ]);
    return caps !== null && typeof caps === "object" && !Array.isArray(caps) ? caps : {};
  }

  /** Whether the camera can pan, tilt or zoom (a fixed camera's caps say so). */
  async hasPtz(channel = 1): Promise<boolean> {
    const caps = await this.caps(channel);
    return caps.Pan === true || caps.Tile === true || caps.Zoom === true;
  }

  /** Ends the auto-stop timers (the gateway is shutting down). */
  close(): void {
    this.closed = true;
    for (const key of [...this.motions.keys()]) this.forgetKey(key);
  }

  private read(action: string, channel: number): Promise<string> {
    return this.api.cgi(
      this.api.targetFor("ptz.cgi", [
        ["action", action],
        ["channel", channel],
      ]),
    );
  }

  private async execute(command: PtzCommand): Promise<PtzOutcome> {
    const { channel } = command;
    switch (command.action) {
      case "move": {
        const code = DIRECTION_CODES[command.direction];
        // Diagonals take arg1 vertical and arg2 horizontal speed; straight moves use arg2 (reference §2.6).
        const diagonal = command.direction.length > 5;
        await this.api.ptz("start", code, [diagonal ? command.speed : 0, command.speed, 0], channel);
        return this.started(channel, "pan-tilt", code, command.durationMs);
      }
      case "zoom": {
        const code = ZOOM_CODES[command.direction];
        await this.api.ptz("start", code, [0, 0, 0], channel);
        return this.started(channel, "zoom", code, command.durationMs);
      }
      case "stop": {
        const axes: Axis[] = command.direction ? [axisOf(command.direction)] : ["pan-tilt", "zoom"];
        for (const axis of axes) {
          // The code that started the motion stops it; without one, the code the direction names.
          const code =
            this.motions.get(`${channel}/${axis}`)?.code ??
            (command.direction ? codeOf(command.direction) : undefined);
          if (code !== undefined) await this.stopAxis(channel, axis, code);
        }
        return {};
      }
      case "gotoPreset":
        this.forget(channel, "pan-tilt");
        this.forget(channel, "zoom");
        await this.api.ptz("start", "GotoPreset", [0, command.preset, 0], channel);
        return {};
      case "setPreset":
        await this.api.ptz("start", "SetPreset", [0, command.preset, 0], channel);
        if (command.name !== undefined) await this.api.ptzRenamePreset(command.preset, command.name, channel);
        return {};
      case "clearPreset":
        await this.api.ptz("start", "ClearPreset", [0, command.preset, 0], channel);
        return {};
    }
  }

  private started(channel: number, axis: Axis, code: string, durationMs: number | undefined): PtzOutcome {
    this.forget(channel, axis);
    const key = `${channel}/${axis}`;
    let settle: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const motion: Motion = { code, timer: undefined, settle };
    this.motions.set(key, motion);
    if (durationMs === undefined || this.closed) {
      settle();
      return {};
    }
    motion.timer = setTimeout(() => {
      motion.timer = undefined;
      void this.order
        .run(() => this.stopAxis(channel, axis, code))
        .then(settle, (error: unknown) => {
          this.api.session.warn("PTZ auto-stop failed", {
            channel,
            code,
            err: error instanceof Error ? error.message : String(error),
          });
          settle();
        });
    }, durationMs);
    return { stopsAt: Date.now() + durationMs, stopped };
  }

  private async stopAxis(channel: number, axis: Axis, code: string): Promise<void> {
    await this.api.ptz("stop", code, [0, 0, 0], channel);
    const key = `${channel}/${axis}`;
    if (this.motions.get(key)?.code === code) this.forget(channel, axis);
  }

  /** Camgate no longer owns the axis's motion (stopped, replaced, or superseded by a preset). */
  private forget(channel: number, axis: Axis): void {
    this.forgetKey(`${channel}/${axis}`);
  }

  private forgetKey(key: string): void {
    const motion = this.motions.get(key);
    if (!motion) return;
    if (motion.timer) clearTimeout(motion.timer);
    motion.settle();
    this.motions.delete(key);
  }
}
