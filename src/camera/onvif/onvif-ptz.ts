/**
 * camgate's one PTZ vocabulary (camera/ptz-command.ts) run on an ONVIF camera's PTZ service (ver20):
 * a move or zoom is a ContinuousMove in the generic velocity space (speed 1-8 as 1/8..1), a stop names the
 * axes it ends, presets are the profile's preset tokens. A timed move sends ONVIF's Timeout *and* stops by
 * itself, since firmware that ignores the Timeout is common, so nothing is left turning. Commands run one
 * after another, so a release never overtakes its press.
 */
import { attributeOf, childOf, listOf, textOf, xml } from "../../protocol/soap.ts";
import { CameraError } from "../errors.ts";
import { InOrder } from "../in-order.ts";
import type { CameraPtz, PtzOutcome, PtzPreset, PtzStatus } from "../ptz.ts";
import type { PtzCommand, PtzDirection, ZoomDirection } from "../ptz-command.ts";
import type { OnvifCamera } from "./onvif-camera.ts";
import { ONVIF_NS, type OnvifAnswer } from "./onvif-client.ts";

const VELOCITY: Record<PtzDirection, [number, number]> = {
  up: [0, 1],
  down: [0, -1],
  left: [-1, 0],
  right: [1, 0],
  leftup: [-1, 1],
  rightup: [1, 1],
  leftdown: [-1, -1],
  rightdown: [1, -1],
};

const isZoom = (direction: PtzDirection | ZoomDirection): direction is ZoomDirection =>
  direction === "in" || direction === "out";

export class OnvifPtz implements CameraPtz {
  private readonly order = new InOrder();
  private readonly timers = new Map<"pan-tilt" | "zoom", { timer: NodeJS.Timeout; settle: () => void }>();
  private closed = false;

  constructor(private readonly camera: OnvifCamera) {}

  run(command: PtzCommand): Promise<PtzOutcome> {
    return this.order.run(() => this.execute(command));
  }

  private async call(operation: string, inner: string): Promise<OnvifAnswer> {
    const profile = await this.camera.profile("main");
    if (!profile.ptz)
      throw new CameraError("unsupported", this.cameraId, "the camera's main profile has no PTZ");
    return this.camera.client.call({
      path: await this.camera.service("ptz"),
      namespace: ONVIF_NS.ptz,
      operation,
      body: `<tptz:${operation}><tptz:ProfileToken>${xml(profile.token)}</tptz:ProfileToken>${inner}</tptz:${operation}>`,
    });
  }

  private get cameraId(): string {
    return this.camera.client.id;
  }

  private async execute(command: PtzCommand): Promise<PtzOutcome> {
    switch (command.action) {
      case "move":
      case "zoom": {
        const axis = command.action === "zoom" ? "zoom" : "pan-tilt";
        const velocity =
          command.action === "zoom"
            ? `<tt:Zoom x="${command.direction === "in" ? 0.5 : -0.5}"/>`
            : (() => {
                const [x, y] = VELOCITY[command.direction];
                const speed = command.speed / 8;
                return `<tt:PanTilt x="${x * speed}" y="${y * speed}"/>`;
              })();
        const timeout =
          command.durationMs === undefined
            ? ""
            : `<tptz:Timeout>PT${(command.durationMs / 1000).toFixed(3).replace(/\.?0+$/, "")}S</tptz:Timeout>`;
        this.cancel(axis);
        await this.call("ContinuousMove", `<tptz:Velocity>${velocity}</tptz:Velocity>${timeout}`);
        if (command.durationMs === undefined) return {};
        return this.stopLater(axis, command.durationMs);
      }
      case "stop": {
        const direction = command.direction;
        const panTilt = direction === undefined || !isZoom(direction);
        const zoom = direction === undefined || isZoom(direction);
        if (panTilt) this.cancel("pan-tilt");
        if (zoom) this.cancel("zoom");
        await this.stop(panTilt, zoom);
        return {};
      }
      case "gotoPreset":
        await this.call(
          "GotoPreset",
          `<tptz:PresetToken>${await this.tokenOf(command.preset)}</tptz:PresetToken>`,
        );
        return {};
      case "setPreset": {
        const known = await this.knownToken(command.preset);
        await this.call(
          "SetPreset",
          `${command.name ? `<tptz:PresetName>${xml(command.name)}</tptz:PresetName>` : ""}${known ? `<tptz:PresetToken>${xml(known)}</tptz:PresetToken>` : ""}`,
        );
        return {};
      }
      case "clearPreset":
        await this.call(
          "RemovePreset",
          `<tptz:PresetToken>${await this.tokenOf(command.preset)}</tptz:PresetToken>`,
        );
        return {};
    }
  }

  private stop(panTilt: boolean, zoom: boolean) {
    return this.call("Stop", `<tptz:PanTilt>${panTilt}</tptz:PanTilt><tptz:Zoom>${zoom}</tptz:Zoom>`);
  }

  private stopLater(axis: "pan-tilt" | "zoom", ms: number): PtzOutcome {
    let settle: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const timer = setTimeout(() => {
      this.timers.delete(axis);
      if (this.closed) return settle();
      void this.run({ action: "stop", channel: 1, direction: axis === "zoom" ? "in" : "up" })
        .catch((error: unknown) => {
          this.camera.client.warn("a timed ONVIF PTZ stop failed", {
            err: error instanceof Error ? error.message : String(error),
          });
        })
        .finally(settle);
    }, ms);
    this.timers.set(axis, { timer, settle });
    return { stopsAt: Date.now() + ms, stopped };
  }

  private cancel(axis: "pan-tilt" | "zoom"): void {
    const pending = this.timers.get(axis);
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.settle();
    this.timers.delete(axis);
  }

  /** The device's tokens are strings; camgate numbers presets: token "3", else the third preset listed. */
  private async knownToken(preset: number): Promise<string | undefined> {
    const tokens = await this.tokens();
    return (
      tokens.find((token) => token === String(preset)) ??
      (tokens.every((t) => !/^\d+$/.test(t)) ? tokens[preset - 1] : undefined)
    );
  }

  private async tokenOf(preset: number): Promise<string> {
    const token = await this.knownToken(preset);
    if (token === undefined)
      throw new CameraError("rejected", this.cameraId, `no preset ${preset} on the camera`);
    return xml(token);
  }

  /** The device's presets: its tokens (strings) and names. */
  private async devicePresets(): Promise<{ token: string; name: string }[]> {
    const answer = await this.call("GetPresets", "");
    return listOf(childOf(answer.body, "Preset")).map((preset) => ({
      token: attributeOf(preset, "token") ?? "",
      name: textOf(childOf(preset, "Name")) ?? "",
    }));
  }

  private async tokens(): Promise<string[]> {
    return (await this.devicePresets()).map((preset) => preset.token).filter((token) => token !== "");
  }

  async presets(): Promise<PtzPreset[]> {
    const presets = await this.devicePresets();
    const numeric = presets.every((p) => /^\d+$/.test(p.token));
    return presets.map((preset, i) => ({ index: numeric ? Number(preset.token) : i + 1, name: preset.name }));
  }

  async status(): Promise<PtzStatus> {
    const answer = await this.call("GetStatus", "");
    const status = childOf(answer.body, "PTZStatus");
    const panTilt = childOf(status, "Position", "PanTilt");
    const zoom = childOf(status, "Position", "Zoom");
    const at = (value: typeof panTilt, name: string) => {
      const n = Number(attributeOf(value, name) ?? Number.NaN);
      return Number.isFinite(n) ? n : undefined;
    };
    const x = at(panTilt, "x");
    const y = at(panTilt, "y");
    const moving = [childOf(status, "MoveStatus", "PanTilt"), childOf(status, "MoveStatus", "Zoom")].some(
      (value) => textOf(value)?.trim().toUpperCase() === "MOVING",
    );
    return {
      action: undefined,
      moving,
      // ONVIF's generic space is -1..1; camgate's status speaks Dahua degrees (pan 0-360, tilt -90-90).
      position:
        x !== undefined && y !== undefined
          ? { pan: (x + 1) * 180, tilt: y * 90, zoom: at(zoom, "x") ?? 0 }
          : undefined,
      presetId: undefined,
    };
  }

  async hasPtz(): Promise<boolean> {
    try {
      const profile = await this.camera.profile("main", "background");
      return (
        profile.ptz !== undefined && (await this.camera.serviceAddresses("background")).ptz !== undefined
      );
    } catch {
      return false;
    }
  }

  close(): void {
    this.closed = true;
    for (const axis of [...this.timers.keys()]) this.cancel(axis);
  }
}
