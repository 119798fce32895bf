/** The PTZ command model: one vocabulary, impossible combinations refused, and stops that really stop. */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CameraApi } from "../../src/camera/api.ts";
import {
  PTZ_ACTIONS,
  PTZ_DIRECTIONS,
  PtzCommandError,
  PtzController,
  parsePtzCommand,
  parsePtzWords,
  ZOOM_DIRECTIONS,
} from "../../src/camera/ptz.ts";
import { CameraSession } from "../../src/camera/session.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { waitFor } from "../helpers/http.ts";

describe("PTZ commands", () => {
  it("refuses impossible combinations with a message that names them", () => {
    const refused = (input: unknown, message: RegExp) =>
      expect(() => parsePtzCommand(input)).toThrow(message);
    refused({ action: "move", direction: "in" }, /move's direction/);
    refused({ action: "zoom", direction: "left" }, /zoom's direction/);
    refused({ action: "move" }, /needs "direction"/);
    refused({ action: "gotoPreset" }, /needs "preset"/);
    refused({ action: "stop", speed: 3 }, /"speed" does not apply to "stop"/);
    refused({ action: "gotoPreset", preset: 1, direction: "up" }, /"direction" does not apply/);
    refused({ action: "stop", durationMs: 500 }, /"durationMs" does not apply/);
    refused({ action: "setPreset", preset: 2, name: "a&b" }, /'&'/);
    refused({ action: "fly" }, /action must be one of/);
    refused(["move"], /JSON object/);
    expect(parsePtzCommand({ action: "stop", direction: "in" })).toEqual({
      action: "stop",
      channel: 1,
      direction: "in",
    });
  });

  it("accepts every valid combination and only valid ones (property)", () => {
    const direction = fc.constantFrom(...PTZ_DIRECTIONS, ...ZOOM_DIRECTIONS, "sideways");
    const input = fc.record(
      {
        action: fc.constantFrom(...PTZ_ACTIONS),
        direction,
        speed: fc.integer({ min: -2, max: 10 }),
        durationMs: fc.integer({ min: 0, max: 20_000 }),
        preset: fc.integer({ min: -1, max: 300 }),
        name: fc.string({ maxLength: 70 }),
      },
      { requiredKeys: ["action"] },
    );
    fc.assert(
      fc.property(input, (value) => {
        let command: ReturnType<typeof parsePtzCommand> | undefined;
        try {
          command = parsePtzCommand(value);
        } catch (error) {
          expect(error).toBeInstanceOf(PtzCommandError);
          return;
        }
        // Whatever is accepted is complete and fits the action.
        switch (command.action) {
          case "move":
            expect(PTZ_DIRECTIONS).toContain(command.direction);
            expect(command.speed).toBeGreaterThanOrEqual(1);
            expect(command.speed).toBeLessThanOrEqual(8);
            break;
          case "zoom":
            expect(ZOOM_DIRECTIONS).toContain(command.direction);
            break;
          case "stop":
            expect("speed" in value || "durationMs" in value || "preset" in value).toBe(false);
            break;
          default:
            expect(command.preset).toBeGreaterThanOrEqual(1);
            expect("direction" in value).toBe(false);
        }
      }),
    );
  });

  it("reads the words of the CLI and MQTT", () => {
    expect(parsePtzWords("LEFT", { durationMs: 500 })).toEqual({
      action: "move",
      channel: 1,
      direction: "left",
      speed: 4,
      durationMs: 500,
    });
    expect(parsePtzWords("zoomin", { durationMs: 300 })).toEqual({
      action: "zoom",
      channel: 1,
      direction: "in",
      durationMs: 300,
    });
    expect(parsePtzWords("stop")).toEqual({ action: "stop", channel: 1 });
    expect(parsePtzWords("preset 3")).toEqual({ action: "gotoPreset", channel: 1, preset: 3 });
    expect(() => parsePtzWords("preset x")).toThrow(PtzCommandError);
    expect(() => parsePtzWords("left now")).toThrow(/unexpected words/);
    expect(() => parsePtzWords("dance")).toThrow(/unknown PTZ command/);
  });
});

describe("PtzController against the emulator (strict about stop codes)", () => {
  let emulator: RunningEmulator;
  let fixed: RunningEmulator;
  let session: CameraSession;
  let fixedSession: CameraSession;
  let ptz: PtzController;
  beforeAll(async () => {
    emulator = await startEmulator({ profile: "amcrest-ip2m-841b", password: "secret" });
    fixed = await startEmulator({ profile: "amcrest-ipm-723w", password: "secret" });
    const url = emulator.cameras[0]?.url ?? "";
    session = new CameraSession({ id: "ptz", url, username: "admin", password: "secret" });
    fixedSession = new CameraSession({
      id: "fixed",
      url: fixed.cameras[0]?.url ?? "",
      username: "admin",
      password: "secret",
    });
    ptz = new PtzController(new CameraApi(session));
  });
  afterAll(async () => {
    ptz.close();
    await session.close();
    await fixedSession.close();
    await emulator.close();
    await fixed.close();
  });
  const control = () => {
    const camera = emulator.cameras[0];
    if (!camera) throw new Error("no camera");
    return camera.control;
  };

  it("stops a zoom with the zoom's own code (a stop naming the zoom axis)", async () => {
    await ptz.run(parsePtzCommand({ action: "zoom", direction: "in" }));
    expect(control().ptzMotion().zooming).toBe(true);
    // A pan stop does not touch the zoom: the camera needs the zoom's code.
    await ptz.run(parsePtzCommand({ action: "stop", direction: "left" }));
    expect(control().ptzMotion().zooming).toBe(true);
    await ptz.run(parsePtzCommand({ action: "stop", direction: "in" }));
    expect(control().ptzMotion()).toEqual({ panning: false, zooming: false });
  });

  it("stops a pan named by another direction, and a bare stop ends every motion it started", async () => {
    await ptz.run(parsePtzCommand({ action: "move", direction: "right", speed: 8 }));
    await ptz.run(parsePtzCommand({ action: "stop", direction: "left" }));
    expect(control().ptzMotion().panning).toBe(false);
    await ptz.run(parsePtzCommand({ action: "move", direction: "up" }));
    await ptz.run(parsePtzCommand({ action: "zoom", direction: "out" }));
    expect(control().ptzMotion()).toEqual({ panning: true, zooming: true });
    await ptz.run(parsePtzCommand({ action: "stop" }));
    expect(control().ptzMotion()).toEqual({ panning: false, zooming: false });
  });

  it("stops a timed move by itself; a newer move on the axis cancels the older one's stop", async () => {
    const first = await ptz.run(parsePtzCommand({ action: "move", direction: "left", durationMs: 50 }));
    const second = await ptz.run(parsePtzCommand({ action: "move", direction: "right", durationMs: 300 }));
    await first.stopped;
    expect(control().ptzMotion().panning).toBe(true);
    await second.stopped;
    expect(control().ptzMotion().panning).toBe(false);
  });

  it("reads status, presets and caps; a fixed camera has no PTZ", async () => {
    await ptz.run(parsePtzCommand({ action: "setPreset", preset: 3, name: "gate" }));
    expect(await ptz.presets()).toEqual([{ index: 3, name: "gate" }]);
    await ptz.run(parsePtzCommand({ action: "move", direction: "left", speed: 8 }));
    await waitFor(() => (control().ptzPosition().pan !== 0 ? true : undefined), 5000, "pan");
    await ptz.run(parsePtzCommand({ action: "stop" }));
    await ptz.run(parsePtzCommand({ action: "gotoPreset", preset: 3 }));
    const status = await ptz.status();
    expect(status.presetId).toBe(3);
    expect(status.moving).toBe(false);
    expect(status.position?.pan).toBeCloseTo(control().ptzPosition().pan, 4);
    await ptz.run(parsePtzCommand({ action: "clearPreset", preset: 3 }));
    expect(await ptz.presets()).toEqual([]);
    expect(await ptz.hasPtz()).toBe(true);
    expect(await new PtzController(new CameraApi(fixedSession)).hasPtz()).toBe(false);
  });
});
