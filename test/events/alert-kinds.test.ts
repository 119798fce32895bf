/**
 * What wakes an owner: the alert kinds of events as firmware sends them (doorbell presses in three spellings,
 * people and vehicles from SMD and IVS objects), quiet hours across midnight and time zones (a property: a
 * window and its complement split every minute of the day), and the router's cooldown, quiet hours and
 * cameras per target.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type NotifyConfig, notifySchema } from "../../src/config/schema.ts";
import { alertKindsOf, alertWords, isDoorbellPress } from "../../src/events/alert-kinds.ts";
import type { CamgateEvent } from "../../src/events/model.ts";
import { headerText, NotifyRouter } from "../../src/events/notify.ts";
import { isQuiet, minuteOfDay } from "../../src/events/quiet-hours.ts";

function event(fields: Partial<CamgateEvent>): CamgateEvent {
  return {
    id: "01KB7R4V7Q9ZB0M2Y6T4N3H8XW",
    camera: "door",
    source: "camera",
    code: "VideoMotion",
    action: "start",
    channel: 0,
    data: {},
    cameraTime: null,
    receivedAt: "2026-12-07T12:00:00.000Z",
    snapshot: true,
    incident: "01KB7R4V7Q9ZB0M2Y6T4N3H8XW",
    ...fields,
  };
}

const target = (fields: Record<string, unknown>): NotifyConfig =>
  notifySchema.parse({ name: "phone", url: "https://ntfy.example/house", ...fields });

describe("alert kinds", () => {
  it("reads a doorbell press in each spelling firmware uses, and nothing else as one", () => {
    // Amcrest AD110/AD410 (dchesterton/amcrest2mqtt, rroller/dahua): Invite is the press, Hangup is not.
    expect(isDoorbellPress({ code: "_DoTalkAction_", data: { Action: "Invite", CallSrcMask: 4 } })).toBe(
      true,
    );
    expect(isDoorbellPress({ code: "_DoTalkAction_", data: { Action: "Hangup" } })).toBe(false);
    // Dahua VTO door stations (myhomeiot/DahuaVTO#14): State 1 or 2 while it rings.
    expect(isDoorbellPress({ code: "BackKeyLight", data: { State: 1 } })).toBe(true);
    expect(isDoorbellPress({ code: "BackKeyLight", data: { State: "2" } })).toBe(true);
    expect(isDoorbellPress({ code: "BackKeyLight", data: { State: 0 } })).toBe(false);
    expect(isDoorbellPress({ code: "DoorbellPressed", data: {} })).toBe(true);
    // The call unanswered after a press is not a second press.
    expect(isDoorbellPress({ code: "CallNoAnswered", data: {} })).toBe(false);
  });

  it("finds people and vehicles in smart events, only at their beginning", () => {
    const human = { type: "human" as const, box: { x: 0.1, y: 0.2, width: 0.1, height: 0.3 } };
    expect(alertKindsOf(event({ code: "CrossRegionDetection", action: "start", objects: [human] }))).toEqual([
      "person",
    ]);
    expect(alertKindsOf(event({ code: "CrossRegionDetection", action: "stop", objects: [human] }))).toEqual(
      [],
    );
    expect(alertKindsOf(event({ code: "SmartMotionVehicle", action: "start" }))).toEqual(["vehicle"]);
    expect(
      alertKindsOf(event({ code: "CrossLineDetection", action: "pulse", objects: [{ type: "vehicle" }] })),
    ).toEqual(["vehicle"]);
    expect(alertKindsOf(event({ code: "VideoMotion", action: "start" }))).toEqual(["motion"]);
    expect(alertKindsOf(event({ code: "VideoMotion", action: "stop" }))).toEqual([]);
    expect(alertKindsOf(event({ code: "VideoBlind", action: "start" }))).toEqual(["tamper"]);
    expect(alertKindsOf(event({ code: "NTPAdjustTime", action: "pulse" }))).toEqual([]);
  });

  it("wakes nobody for a camera's own CameraOffline, or a security finding resolved", () => {
    expect(alertKindsOf(event({ source: "gateway", code: "CameraOffline", action: "pulse" }))).toEqual([
      "offline",
    ]);
    expect(alertKindsOf(event({ source: "camera", code: "CameraOffline", action: "pulse" }))).toEqual([]);
    const finding = (added: unknown[]) =>
      event({
        source: "gateway",
        code: "SecurityFinding",
        action: "pulse",
        data: { added, resolved: [] } as CamgateEvent["data"],
      });
    expect(alertKindsOf(finding([]))).toEqual([]);
    const two = finding([{ title: "Telnet is open" }, { title: "UPnP is on" }]);
    expect(alertKindsOf(two)).toEqual(["security"]);
    expect(alertWords("security", two, "Door", "12:00").message).toBe("Telnet is open (and 1 more)");
  });

  it("says where a person was, in words", () => {
    expect(alertWords("person", event({ rule: "Driveway" }), "Front yard", "14:02")).toEqual({
      title: "Front yard: Person",
      message: "A person in Driveway at 14:02",
    });
  });
});

describe("quiet hours", () => {
  it("spans midnight and reads the target's time zone", () => {
    const hours = { from: "22:00", to: "07:00" };
    expect(isQuiet(hours, new Date("2026-12-07T23:30:00Z"), "UTC")).toBe(true);
    expect(isQuiet(hours, new Date("2026-12-07T06:59:00Z"), "UTC")).toBe(true);
    expect(isQuiet(hours, new Date("2026-12-07T07:00:00Z"), "UTC")).toBe(false);
    // 21:30 UTC is 22:30 in Berlin in December.
    expect(isQuiet(hours, new Date("2026-12-07T21:30:00Z"), "Europe/Berlin")).toBe(true);
    expect(isQuiet(hours, new Date("2026-12-07T21:30:00Z"), "UTC")).toBe(false);
    expect(isQuiet({ from: "08:00", to: "08:00" }, new Date("2026-12-07T08:00:00Z"), "UTC")).toBe(false);
  });

  it("splits the day: every minute is quiet in a window or in its complement, never both", () => {
    const clock = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
      .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
    fc.assert(
      fc.property(
        clock,
        clock,
        fc.date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true }),
        fc.constantFrom("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"),
        (from, to, at, zone) => {
          fc.pre(from !== to);
          const a = isQuiet({ from, to }, at, zone);
          const b = isQuiet({ from: to, to: from }, at, zone);
          expect(a !== b).toBe(true);
          expect(minuteOfDay(at, zone)).toBeLessThan(1440);
        },
      ),
    );
  });
});

describe("the notification router", () => {
  const always = { maySee: () => true };

  it("lets one notification of a kind per camera through a cooldown, but other kinds and cameras pass", () => {
    let now = Date.parse("2026-12-07T12:00:00Z");
    const router = new NotifyRouter([target({ kinds: ["person", "doorbell"], cooldownSeconds: 60 })], {
      ...always,
      now: () => now,
    });
    const person = event({ code: "SmartMotionHuman" });
    expect(router.route(person)).toEqual(["notify:phone"]);
    now += 30_000;
    expect(router.route(person)).toEqual([]);
    expect(router.route(event({ code: "SmartMotionHuman", camera: "yard" }))).toEqual(["notify:phone"]);
    expect(
      router.route(event({ code: "_DoTalkAction_", action: "pulse", data: { Action: "Invite" } })),
    ).toEqual(["notify:phone"]);
    expect(router.route(event({ code: "VideoMotion" }))).toEqual([]);
    now += 31_000;
    expect(router.route(person)).toEqual(["notify:phone"]);
  });

  it("holds quiet hours but for the kinds allowed through, and a user's cameras", () => {
    const night = Date.parse("2026-12-07T23:00:00Z");
    const router = new NotifyRouter(
      [
        target({
          kinds: ["person", "doorbell"],
          quietHours: { from: "22:00", to: "07:00" },
          timeZone: "UTC",
          cooldownSeconds: 0,
        }),
        target({ name: "sitter", user: "sitter", kinds: ["person"], cooldownSeconds: 0 }),
      ],
      { maySee: (user, camera) => user === "sitter" && camera === "dogs", now: () => night },
    );
    expect(router.route(event({ code: "SmartMotionHuman" }))).toEqual([]);
    expect(router.route(event({ code: "DoorbellPressed", action: "pulse" }))).toEqual(["notify:phone"]);
    expect(router.route(event({ code: "SmartMotionHuman", camera: "dogs" }))).toEqual(["notify:sitter"]);
  });

  it("writes non-ASCII header text as RFC 2047 encoded words (which ntfy decodes)", () => {
    expect(headerText("Front yard: Person")).toBe("Front yard: Person");
    const encoded = headerText("Entrée: Person");
    expect(encoded).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    expect(Buffer.from(encoded.slice(10, -2), "base64").toString("utf8")).toBe("Entrée: Person");
  });
});
