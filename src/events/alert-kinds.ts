/**
 * What an event means to an owner who wants to be woken: a person, a vehicle, a doorbell press, motion, a
 * covered lens, a camera gone offline, a security finding. Pure: one event in, its kinds and its words out.
 * Only beginnings count (a start or a pulse): nobody is notified that a motion ended.
 *
 * Doorbell presses, as firmware sends them:
 * - `_DoTalkAction_` with `data.Action: "Invite"` (Amcrest AD110/AD410; dchesterton/amcrest2mqtt and
 *   rroller/dahua read it so; `Hangup` ends the call and is not a press);
 * - `BackKeyLight` with `data.State` 1 or 2 (Dahua VTO door stations; myhomeiot/DahuaVTO#14);
 * - `DoorbellPressed` (named by rroller/dahua's sensor, rroller/dahua#593).
 * `CallNoAnswered` is the call going unanswered after a press, not a press: it is not a doorbell alert.
 */
import type { AlertKind } from "../config/schema.ts";
import type { JsonValue } from "../protocol/kv.ts";
import type { CamgateEvent } from "./model.ts";

export { ALERT_KINDS, type AlertKind } from "../config/schema.ts";

type EventFacts = Pick<CamgateEvent, "code" | "action" | "data" | "objects" | "rule" | "source">;

function field(data: JsonValue, name: string): JsonValue | undefined {
  return data !== null && typeof data === "object" && !Array.isArray(data) ? data[name] : undefined;
}

/** The titles of the findings a `SecurityFinding` event adds (`data.added[].title`). */
function addedFindings(data: JsonValue): string[] {
  const added = field(data, "added");
  if (!Array.isArray(added)) return [];
  return added.map((finding) => field(finding, "title")).filter((t): t is string => typeof t === "string");
}

export function isDoorbellPress(event: Pick<CamgateEvent, "code" | "data">): boolean {
  switch (event.code) {
    case "_DoTalkAction_":
      return field(event.data, "Action") === "Invite";
    case "BackKeyLight": {
      const state = Number(field(event.data, "State"));
      return state === 1 || state === 2;
    }
    case "DoorbellPressed":
      return true;
    default:
      return false;
  }
}

/** The kinds of alert an event is (none for a stop, a state, or a code nobody is woken for). */
export function alertKindsOf(event: EventFacts): AlertKind[] {
  if (event.action !== "start" && event.action !== "pulse") return [];
  const kinds = new Set<AlertKind>();
  if (isDoorbellPress(event)) kinds.add("doorbell");
  const types = new Set((event.objects ?? []).map((o) => o.type));
  if (event.code === "SmartMotionHuman" || types.has("human") || types.has("face")) kinds.add("person");
  if (event.code === "SmartMotionVehicle" || types.has("vehicle")) kinds.add("vehicle");
  // The camera's own motion, and camgate's (which confirms the camera's, or stands in for it: docs/events.md).
  if (event.code === "VideoMotion") kinds.add(event.source === "motion" ? "confirmed-motion" : "motion");
  if (event.code === "VideoBlind") kinds.add("tamper");
  if (event.source === "gateway" && event.code === "CameraOffline") kinds.add("offline");
  // A finding resolved is good news; only findings added wake anyone.
  if (event.source === "gateway" && event.code === "SecurityFinding" && addedFindings(event.data).length > 0)
    kinds.add("security");
  return [...kinds];
}

/**
 * The zones an event names: those camgate's motion detection saw it in (`data.zones`), or the camera's rule
 * or region (`rule`). Empty when it names none.
 */
export function zonesOf(event: Pick<CamgateEvent, "data" | "rule">): string[] {
  const zones = field(event.data, "zones");
  const named = Array.isArray(zones) ? zones.filter((z): z is string => typeof z === "string") : [];
  return event.rule ? [...named, event.rule] : named;
}

const HEADLINES: Record<AlertKind, string> = {
  person: "Person",
  vehicle: "Vehicle",
  doorbell: "Doorbell",
  motion: "Motion",
  "confirmed-motion": "Motion",
  tamper: "Camera covered",
  offline: "Camera offline",
  security: "Security finding",
};

/** A notification's title and text, in words an owner reads on a lock screen. */
export function alertWords(
  kind: AlertKind,
  event: Pick<CamgateEvent, "rule" | "direction" | "receivedAt" | "data">,
  cameraName: string,
  time: string,
): { title: string; message: string } {
  const title = `${cameraName}: ${HEADLINES[kind]}`;
  const zones = zonesOf(event);
  const where = zones.length > 0 ? ` in ${zones.join(", ")}` : "";
  switch (kind) {
    case "person":
      return { title, message: `A person${where} at ${time}` };
    case "vehicle":
      return { title, message: `A vehicle${where} at ${time}` };
    case "doorbell":
      return { title, message: `Someone rang at ${time}` };
    case "motion":
      return { title, message: `Motion${where} at ${time}` };
    case "confirmed-motion":
      return { title, message: `Motion${where} at ${time}, seen by camgate` };
    case "tamper":
      return { title, message: `The lens was covered or blinded at ${time}` };
    case "offline":
      return { title, message: `camgate lost the camera at ${time}` };
    case "security": {
      const [first, ...more] = addedFindings(event.data);
      return {
        title,
        message: `${first ?? "A new finding"}${more.length > 0 ? ` (and ${more.length} more)` : ""}`,
      };
    }
  }
}
