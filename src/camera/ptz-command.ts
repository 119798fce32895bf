/**
 * The one PTZ command vocabulary of camgate: what REST, MQTT, the CLI and the web UI can ask a camera to do,
 * checked in one place. No I/O; `camera/ptz.ts` runs commands on a camera.
 */
import { checkDeviceValue, DeviceArgumentError } from "../protocol/cgi-target.ts";

export const PTZ_DIRECTIONS = [
  "up",
  "down",
  "left",
  "right",
  "leftup",
  "rightup",
  "leftdown",
  "rightdown",
] as const;
export type PtzDirection = (typeof PTZ_DIRECTIONS)[number];

export const ZOOM_DIRECTIONS = ["in", "out"] as const;
export type ZoomDirection = (typeof ZOOM_DIRECTIONS)[number];

export const PTZ_ACTIONS = ["move", "zoom", "stop", "gotoPreset", "setPreset", "clearPreset"] as const;
export type PtzAction = (typeof PTZ_ACTIONS)[number];

export type PtzCommand =
  | { action: "move"; channel: number; direction: PtzDirection; speed: number; durationMs?: number }
  | { action: "zoom"; channel: number; direction: ZoomDirection; durationMs?: number }
  /** Without a direction: stop whatever camgate set moving on this channel. */
  | { action: "stop"; channel: number; direction?: PtzDirection | ZoomDirection }
  | { action: "gotoPreset"; channel: number; preset: number }
  | { action: "setPreset"; channel: number; preset: number; name?: string }
  | { action: "clearPreset"; channel: number; preset: number };

/** The bounds of command arguments, shared with the REST schema. */
export const PTZ_LIMITS = {
  speed: { min: 1, max: 8, default: 4 },
  durationMs: { min: 50, max: 10_000 },
  preset: { min: 1, max: 255 },
  nameLength: 64,
} as const;

export class PtzCommandError extends Error {
  readonly code = "invalid-ptz-command";
  constructor(message: string) {
    super(message);
    this.name = "PtzCommandError";
  }
}

/** Which fields each action takes (besides `action` and `channel`), and which it needs. */
const FIELDS: Record<PtzAction, { allowed: readonly string[]; required: readonly string[] }> = {
  move: { allowed: ["direction", "speed", "durationMs"], required: ["direction"] },
  zoom: { allowed: ["direction", "durationMs"], required: ["direction"] },
  stop: { allowed: ["direction"], required: [] },
  gotoPreset: { allowed: ["preset"], required: ["preset"] },
  setPreset: { allowed: ["preset", "name"], required: ["preset"] },
  clearPreset: { allowed: ["preset"], required: ["preset"] },
};

const isOneOf = <T extends string>(list: readonly T[], value: unknown): value is T =>
  typeof value === "string" && (list as readonly string[]).includes(value);

function integerIn(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw new PtzCommandError(`${what} must be an integer from ${min} to ${max}`);
  return value;
}

/** A command from a JSON object (`{"action":"move","direction":"left","durationMs":500}`). */
export function parsePtzCommand(input: unknown): PtzCommand {
  if (input === null || typeof input !== "object" || Array.isArray(input))
    throw new PtzCommandError("a PTZ command is a JSON object with an action");
  const fields = input as Record<string, unknown>;
  const action = fields.action;
  if (!isOneOf(PTZ_ACTIONS, action))
    throw new PtzCommandError(`action must be one of ${PTZ_ACTIONS.join(", ")}`);
  const rule = FIELDS[action];
  for (const key of Object.keys(fields)) {
    if (key === "action" || key === "channel") continue;
    if (!rule.allowed.includes(key)) throw new PtzCommandError(`"${key}" does not apply to "${action}"`);
  }
  for (const key of rule.required)
    if (fields[key] === undefined) throw new PtzCommandError(`"${action}" needs "${key}"`);
  const channel = fields.channel === undefined ? 1 : integerIn(fields.channel, "channel", 1, 256);
  const duration =
    fields.durationMs === undefined
      ? {}
      : {
          durationMs: integerIn(
            fields.durationMs,
            "durationMs",
            PTZ_LIMITS.durationMs.min,
            PTZ_LIMITS.durationMs.max,
          ),
        };
  const preset = () => integerIn(fields.preset, "preset", PTZ_LIMITS.preset.min, PTZ_LIMITS.preset.max);
  switch (action) {
    case "move":
      if (!isOneOf(PTZ_DIRECTIONS, fields.direction))
        throw new PtzCommandError(`a move's direction is one of ${PTZ_DIRECTIONS.join(", ")}`);
      return {
        action,
        channel,
        direction: fields.direction,
        speed:
          fields.speed === undefined
            ? PTZ_LIMITS.speed.default
            : integerIn(fields.speed, "speed", PTZ_LIMITS.speed.min, PTZ_LIMITS.speed.max),
        ...duration,
      };
    case "zoom":
      if (!isOneOf(ZOOM_DIRECTIONS, fields.direction))
        throw new PtzCommandError('a zoom\'s direction is "in" or "out"');
      return { action, channel, direction: fields.direction, ...duration };
    case "stop": {
      const direction = fields.direction;
      if (direction === undefined) return { action, channel };
      if (!isOneOf(PTZ_DIRECTIONS, direction) && !isOneOf(ZOOM_DIRECTIONS, direction))
        throw new PtzCommandError(
          `a stop's direction is one of ${[...PTZ_DIRECTIONS, ...ZOOM_DIRECTIONS].join(", ")}`,
        );
      return { action, channel, direction };
    }
    case "gotoPreset":
    case "clearPreset":
      return { action, channel, preset: preset() };
    case "setPreset": {
      const name = fields.name;
      if (name === undefined) return { action, channel, preset: preset() };
      if (typeof name !== "string" || name === "" || name.length > PTZ_LIMITS.nameLength)
        throw new PtzCommandError(`a preset name is 1 to ${PTZ_LIMITS.nameLength} characters`);
      try {
        // Refused here, before the preset is saved, rather than when the rename is sent after it.
        checkDeviceValue(name);
      } catch (error) {
        if (error instanceof DeviceArgumentError) throw new PtzCommandError(`preset name: ${error.message}`);
        throw error;
      }
      return { action, channel, preset: preset(), name };
    }
  }
}

/**
 * A command from words, as typed on the command line or sent as an MQTT payload: a direction (`left`),
 * `zoomin`/`zoomout`, `stop`, or `preset <n>`. Moves and zooms take `durationMs` from the caller.
 */
export function parsePtzWords(
  text: string,
  defaults: { speed?: number; durationMs?: number; channel?: number } = {},
): PtzCommand {
  const [word = "", argument, ...rest] = text.trim().toLowerCase().split(/\s+/);
  const channel = defaults.channel ?? 1;
  const known = [...PTZ_DIRECTIONS, "zoomin", "zoomout", "stop", "preset <n>"].join(", ");
  if (rest.length > 0 || (argument !== undefined && word !== "preset"))
    throw new PtzCommandError(`unexpected words after "${word}": use ${known}`);
  const timed = defaults.durationMs === undefined ? {} : { durationMs: defaults.durationMs };
  if (isOneOf(PTZ_DIRECTIONS, word))
    return parsePtzCommand({ action: "move", direction: word, channel, ...timed, speed: defaults.speed });
  if (word === "zoomin" || word === "zoomout")
    return parsePtzCommand({ action: "zoom", direction: word.slice(4), channel, ...timed });
  if (word === "stop") return { action: "stop", channel };
  if (word === "preset") {
    const preset = Number(argument);
    return parsePtzCommand({ action: "gotoPreset", preset, channel });
  }
  throw new PtzCommandError(`unknown PTZ command "${text.trim()}": use ${known}`);
}
