/**
 * The objects, rule and direction in a camera's smart events (IVS tripwire and intrusion, Smart Motion
 * Detection), read once into one typed shape, whatever the firmware's spelling (issue 27). The raw data
 * stays beside it in the event; this is what a notification, a rule or a UI reads.
 *
 * Spellings met in published captures:
 * - IVS (`CrossLineDetection`, `CrossRegionDetection`, ...): one `Object` with `ObjectType` (`Human`,
 *   `Vehicle`, ...), `ObjectID`, `BoundingBox: [x1, y1, x2, y2]` and `Action`; the rule's `Name` and, for a
 *   tripwire, `Direction: "RightToLeft"` (rroller/dahua#138 IPC-HFW3849T1-AS-PV-S3, #189 IPC-HDW5442TM-ASE,
 *   #288). Some firmware sends an `Objects` array instead.
 * - SMD (`SmartMotionHuman`, `SmartMotionVehicle`): an `object` array (lower case) whose entries carry
 *   `HumamID` (sic, the firmware's misspelling) and `Rect: [x1, y1, x2, y2]`, and `RegionName: ["Region1"]`
 *   (rroller/dahua#276, an AD410-era camera).
 * - A point is `Center`, or `Postion` where firmware misspells it as in PTZ status (bcpearce ptz_status).
 *
 * Coordinates are Dahua's 8192-normalised space (0..8191 for the whole picture); a box comes out as
 * fractions of the picture (0..1), so it can be drawn on a snapshot of any size.
 *
 * Pure and total: any JSON in, a bounded result out, never a throw.
 */
import type { JsonObject, JsonValue } from "./kv.ts";

export type SmartObjectType = "human" | "vehicle" | "non-motor" | "animal" | "face" | "other";

export interface SmartBox {
  /** Left and top edge, width and height, as fractions of the picture (0..1). */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface SmartObject {
  type: SmartObjectType;
  /** The camera's own word for the type, when it said one (`Human`, `MotorVehicle`). */
  cameraType?: string;
  /** The camera's tracking id: the same object across events of one track. */
  id?: number;
  box?: SmartBox;
  /** The object's centre, as fractions of the picture. */
  center?: { x: number; y: number };
  /** `Appear`, `Inside`, `Cross`, `Disappear`: what the object did, as the camera says it. */
  action?: string;
}

export interface SmartDetails {
  objects: SmartObject[];
  /** The rule or region that fired (`Rule 1`, `Region1`). */
  rule?: string;
  /** Which way a tripwire was crossed or a region entered: `left-to-right`, `right-to-left`, `both`, `enter`, ... */
  direction?: string;
}

/** Dahua's coordinate space: 8192 steps across and down. */
const SPACE = 8192;
const MAX_OBJECTS = 32;
const MAX_TEXT = 64;

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function text(value: JsonValue | undefined): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed.length > 0 && trimmed.length <= MAX_TEXT ? trimmed : undefined;
}

function integer(value: JsonValue | undefined): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** A coordinate in 8192 space → a fraction of the picture, clamped, to 4 places (under a pixel of 8K). */
function fraction(value: number): number {
  return round(Math.min(1, Math.max(0, value / SPACE)));
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** `[x1, y1, x2, y2]` in 8192 space → a box in fractions; corners in either order. */
function boxOf(value: JsonValue | undefined): SmartBox | undefined {
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const numbers = value.filter((n): n is number => typeof n === "number" && Number.isFinite(n));
  if (numbers.length !== 4) return undefined;
  const clamp = (n: number) => Math.min(1, Math.max(0, n / SPACE));
  const [x1, y1, x2, y2] = numbers.map(clamp) as [number, number, number, number];
  const left = Math.min(x1, x2);
  const top = Math.min(y1, y2);
  const right = Math.max(x1, x2);
  const bottom = Math.max(y1, y2);
  // An all-zero box is firmware's "none" (FaceRect, HumanRect of a non-face object).
  if (right === 0 && bottom === 0) return undefined;
  return { x: round(left), y: round(top), width: round(right - left), height: round(bottom - top) };
}

function pointOf(value: JsonValue | undefined): { x: number; y: number } | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [x, y] = value;
  if (typeof x !== "number" || typeof y !== "number" || !Number.isFinite(x) || !Number.isFinite(y))
    return undefined;
  return { x: fraction(x), y: fraction(y) };
}

/** The camera's type word → ours (Dahua SDK's object types; unknown words are `other`, kept as said). */
export function objectTypeOf(word: string): SmartObjectType {
  const lower = word.toLowerCase();
  if (/face/.test(lower)) return "face";
  if (/^(human|person|people|pedestrian)/.test(lower)) return "human";
  if (/^(nonmotor|non-motor|bicycle|bike|tricycle)/.test(lower)) return "non-motor";
  if (/(vehicle|car|bus|truck|motorcycle|van)/.test(lower)) return "vehicle";
  if (/^(animal|dog|cat|bird)/.test(lower)) return "animal";
  return "other";
}

/** The type an SMD entry has from its id key (`HumamID`, `HumanID`, `VehicleID`) or its event code. */
function typeFromKeys(entry: JsonObject, code: string): { type: SmartObjectType; id?: number } {
  for (const [key, value] of Object.entries(entry)) {
    if (/^huma[nm]id$/i.test(key)) return { type: "human", ...idOf(value) };
    if (/^vehicleid$/i.test(key)) return { type: "vehicle", ...idOf(value) };
  }
  const fromCode = /human/i.test(code) ? "human" : /vehicle/i.test(code) ? "vehicle" : "other";
  return { type: fromCode, ...idOf(entry.ObjectID ?? entry.ID ?? entry.Id) };
}

function idOf(value: JsonValue | undefined): { id?: number } {
  const id = integer(value);
  return id === undefined ? {} : { id };
}

function objectOf(entry: JsonValue, code: string): SmartObject | undefined {
  if (!isObject(entry)) return undefined;
  const said = text(entry.ObjectType) ?? text(entry.Type);
  const typed =
    said !== undefined ? { type: objectTypeOf(said), ...idOf(entry.ObjectID) } : typeFromKeys(entry, code);
  const box = boxOf(entry.BoundingBox) ?? boxOf(entry.Rect);
  const center = pointOf(entry.Center) ?? pointOf(entry.Postion) ?? pointOf(entry.Position);
  const action = text(entry.Action);
  return {
    type: typed.type,
    ...(said !== undefined ? { cameraType: said } : {}),
    ...(typed.id !== undefined ? { id: typed.id } : {}),
    ...(box ? { box } : {}),
    ...(center ? { center } : {}),
    ...(action !== undefined ? { action } : {}),
  };
}

/** `RightToLeft` → `right-to-left`; anything that is not a short word of letters is dropped. */
function directionOf(value: JsonValue | undefined): string | undefined {
  const word = text(value);
  if (word === undefined || !/^[A-Za-z]+$/.test(word)) return undefined;
  return word
    .replace(/([a-z])([A-Z])/g, "$1-$2")
    .toLowerCase()
    .replace(/^any$/, "both");
}

function ruleOf(data: JsonObject): string | undefined {
  const name = text(data.Name) ?? text(data.RuleName);
  if (name !== undefined) return name;
  const regions = data.RegionName;
  return Array.isArray(regions) ? text(regions[0]) : undefined;
}

/**
 * The smart details of an event's data, or undefined when it has none (a plain VideoMotion with no region
 * name, a storage event, anything that is not an object).
 */
export function smartDetailsOf(code: string, data: JsonValue): SmartDetails | undefined {
  if (!isObject(data)) return undefined;
  const entries: JsonValue[] = [];
  if (data.Object !== undefined) entries.push(data.Object);
  for (const list of [data.Objects, data.object])
    if (Array.isArray(list)) entries.push(...list.slice(0, MAX_OBJECTS));
  const objects = entries
    .slice(0, MAX_OBJECTS)
    .map((entry) => objectOf(entry, code))
    .filter((object): object is SmartObject => object !== undefined);
  const rule = ruleOf(data);
  const direction = directionOf(data.Direction);
  if (objects.length === 0 && rule === undefined && direction === undefined) return undefined;
  return {
    objects,
    ...(rule !== undefined ? { rule } : {}),
    ...(direction !== undefined ? { direction } : {}),
  };
}
