/**
 * What may arrive on `<prefix>/<camera>/ptz/set`, as one request: camgate's words (`left`, `zoomin`, `stop`,
 * `preset 2`), a JSON command as the REST API takes it, camgate 0.1's JSON form without `action`, or the words
 * Frigate users send (`MOVE_LEFT`, `ZOOM_IN`, `STOP`, `preset_<name>`, from Frigate's `<camera>/ptz` topic).
 * No I/O: a preset named by Frigate is resolved by the bridge, which knows the camera's presets.
 */
import {
  PTZ_LIMITS,
  type PtzCommand,
  PtzCommandError,
  parsePtzCommand,
  parsePtzWords,
} from "../camera/ptz-command.ts";

/** How long a move or zoom sent as a camgate word lasts. */
export const WORD_MOVE_MS = 500;
/**
 * Frigate's MOVE_ and ZOOM_ run until its STOP; camgate caps them at the longest timed move, so a lost STOP
 * (a broker restart between the two) does not leave the camera turning.
 */
export const FRIGATE_MOVE_MS = PTZ_LIMITS.durationMs.max;

export type MqttPtzRequest = { command: PtzCommand } | { presetName: string };

const FRIGATE_MOVES: Record<string, string> = {
  MOVE_LEFT: "left",
  MOVE_RIGHT: "right",
  MOVE_UP: "up",
  MOVE_DOWN: "down",
};

export function parseMqttPtz(payload: string): MqttPtzRequest {
  const text = payload.trim();
  if (text.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new PtzCommandError("the payload starts with { but is not JSON");
    }
    return { command: parsePtzCommand(withAction(parsed)) };
  }
  const direction = FRIGATE_MOVES[text];
  if (direction)
    return { command: parsePtzCommand({ action: "move", direction, durationMs: FRIGATE_MOVE_MS }) };
  if (text === "ZOOM_IN" || text === "ZOOM_OUT")
    return {
      command: parsePtzCommand({
        action: "zoom",
        direction: text === "ZOOM_IN" ? "in" : "out",
        durationMs: FRIGATE_MOVE_MS,
      }),
    };
  if (text === "STOP") return { command: { action: "stop", channel: 1 } };
  const preset = /^preset_(.+)$/.exec(text);
  if (preset?.[1]) {
    const number = Number(preset[1]);
    return Number.isInteger(number)
      ? { command: parsePtzCommand({ action: "gotoPreset", preset: number }) }
      : { presetName: preset[1] };
  }
  return { command: parsePtzWords(text, { durationMs: WORD_MOVE_MS }) };
}

/** `{"direction":"left","durationMs":500}` and `{"preset":2}` (camgate 0.1's MQTT form) as full commands. */
function withAction(input: unknown): unknown {
  if (input === null || typeof input !== "object" || Array.isArray(input) || "action" in input) return input;
  const fields = input as Record<string, unknown>;
  if (fields.preset !== undefined) return { action: "gotoPreset", ...fields };
  if (fields.direction === "stop") return { action: "stop", ...fields, direction: undefined };
  const action = fields.direction === "in" || fields.direction === "out" ? "zoom" : "move";
  return { action, durationMs: WORD_MOVE_MS, ...fields };
}
