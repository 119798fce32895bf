/** The ONVIF face's pure parts: PTZ velocities onto camgate's commands, PullPoint bounds and order. */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { EventListener } from "../../src/events/bus.ts";
import type { CamgateEvent } from "../../src/events/model.ts";
import { continuousMoveCommands, stopCommand } from "../../src/server/onvif/onvif-ptz.ts";
import { notificationOf, PULL_POINT_LIMITS, PullPoints } from "../../src/server/onvif/pull-points.ts";

const velocity = (x: number, y: number, zoom: number, timeout?: string) => ({
  Velocity: { PanTilt: { "@_x": String(x), "@_y": String(y) }, Zoom: { "@_x": String(zoom) } },
  ...(timeout ? { Timeout: timeout } : {}),
});

describe("ContinuousMove onto camgate's PTZ commands", () => {
  it("maps the velocity's signs to a direction and its size to a speed of 1-8", () => {
    expect(continuousMoveCommands(velocity(0.5, 0, 0, "PT1S"))).toEqual([
      { action: "move", channel: 1, direction: "right", speed: 4, durationMs: 1000 },
    ]);
    expect(continuousMoveCommands(velocity(-1, 1, 0))).toEqual([
      { action: "move", channel: 1, direction: "leftup", speed: 8, durationMs: 10_000 },
    ]);
    expect(continuousMoveCommands(velocity(0, 0, -0.3, "PT0.2S"))).toEqual([
      { action: "zoom", channel: 1, direction: "out", durationMs: 200 },
    ]);
    expect(continuousMoveCommands(velocity(0, 0, 0))).toEqual([{ action: "stop", channel: 1 }]);
  });

  it("always gives commands within camgate's limits, whatever the numbers", () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: false }),
        fc.double(),
        fc.double(),
        fc.integer({ min: 0, max: 100_000 }),
        (x, y, zoom, ms) => {
          for (const command of continuousMoveCommands(velocity(x, y, zoom, `PT${ms / 1000}S`))) {
            if (command.action === "move") {
              expect(command.speed).toBeGreaterThanOrEqual(1);
              expect(command.speed).toBeLessThanOrEqual(8);
            }
            if (command.action === "move" || command.action === "zoom") {
              expect(command.durationMs).toBeGreaterThanOrEqual(50);
              expect(command.durationMs).toBeLessThanOrEqual(10_000);
            }
          }
        },
      ),
    );
  });

  it("refuses a Timeout that is not a duration", () => {
    expect(() => continuousMoveCommands(velocity(1, 0, 0, "soon"))).toThrow(/not a duration/);
  });

  it("stops the axes Stop names", () => {
    expect(stopCommand({})).toEqual({ action: "stop", channel: 1 });
    expect(stopCommand({ PanTilt: "true", Zoom: "false" })).toEqual({
      action: "stop",
      channel: 1,
      direction: "up",
    });
    expect(stopCommand({ PanTilt: "false", Zoom: "true" })).toEqual({
      action: "stop",
      channel: 1,
      direction: "in",
    });
  });
});

function event(code: string, action: CamgateEvent["action"], camera = "yard"): CamgateEvent {
  return {
    id: "01J",
    camera,
    source: "camera",
    code,
    action,
    channel: 0,
    data: {},
    cameraTime: null,
    receivedAt: new Date().toISOString(),
    snapshot: false,
    incident: null,
  };
}

class FakeBus {
  listener: EventListener | undefined;
  subscribe(listener: EventListener) {
    this.listener = listener;
    return () => {
      this.listener = undefined;
    };
  }
  publish(e: CamgateEvent) {
    this.listener?.(e);
  }
}

describe("PullPoint subscriptions", () => {
  let points: PullPoints | undefined;
  afterEach(() => points?.close());
  const never = new AbortController().signal;

  it("maps motion, tamper, video loss and alarm input; nothing else", () => {
    expect(notificationOf(event("VideoMotion", "start"))?.topic).toBe("tns1:VideoSource/MotionAlarm");
    expect(notificationOf(event("VideoMotion", "stop"))?.data).toEqual(["State", "false"]);
    expect(notificationOf(event("VideoBlind", "start"))?.topic).toBe(
      "tns1:VideoSource/GlobalSceneChange/ImagingService",
    );
    expect(notificationOf(event("AlarmLocal", "start"))?.source).toEqual(["InputToken", "input0"]);
    expect(notificationOf(event("VideoMotion", "pulse"))).toBeUndefined();
    expect(notificationOf(event("NTPAdjustTime", "start"))).toBeUndefined();
  });

  it("starts with the current state, then delivers changes of its camera in order", async () => {
    const bus = new FakeBus();
    points = new PullPoints(bus);
    bus.publish(event("VideoMotion", "start"));
    const { id } = points.create("yard", "olga", undefined);
    const first = await points.pull(id, "yard", "olga", 0, 10, never);
    expect(first.messages.map((m) => [m.operation, m.data[1]])).toEqual([["Initialized", "true"]]);
    const waiting = points.pull(id, "yard", "olga", 60_000, 10, never);
    bus.publish(event("VideoMotion", "stop", "shed"));
    bus.publish(event("VideoMotion", "stop"));
    bus.publish(event("VideoBlind", "start"));
    const woken = await waiting;
    // The other camera's change is not there; this camera's two are, in the order they happened.
    expect(woken.messages.map((m) => [m.topic, m.data[1]])).toEqual([
      ["tns1:VideoSource/MotionAlarm", "false"],
      ["tns1:VideoSource/GlobalSceneChange/ImagingService", "true"],
    ]);
    expect((await points.pull(id, "yard", "olga", 0, 10, never)).messages).toEqual([]);
  });

  it("keeps queues, subscriptions and waits bounded", async () => {
    const bus = new FakeBus();
    points = new PullPoints(bus);
    const { id } = points.create("yard", "olga", undefined);
    for (let i = 0; i < PULL_POINT_LIMITS.queued + 50; i++)
      bus.publish(event("VideoMotion", i % 2 ? "stop" : "start"));
    let total = 0;
    for (;;) {
      const { messages } = await points.pull(id, "yard", "olga", 0, 1000, never);
      if (messages.length === 0) break;
      expect(messages.length).toBeLessThanOrEqual(PULL_POINT_LIMITS.maxMessages);
      total += messages.length;
    }
    expect(total).toBe(PULL_POINT_LIMITS.queued);
    // One user holds at most its share of a camera's subscriptions; the camera's others are still there.
    for (let i = 1; i < PULL_POINT_LIMITS.perUserPerCamera; i++) points.create("yard", "olga", undefined);
    expect(() => points?.create("yard", "olga", undefined)).toThrow(/too many/);
    points.create("shed", "olga", undefined);
    const others = PULL_POINT_LIMITS.perCamera - PULL_POINT_LIMITS.perUserPerCamera;
    for (let i = 0; i < others; i++) points.create("yard", `user${Math.floor(i / 4)}`, undefined);
    expect(() => points?.create("yard", "vera", undefined)).toThrow(/too many/);
  });

  it("ends a waiting pull when the client goes, and hides one user's subscription from another", async () => {
    const bus = new FakeBus();
    points = new PullPoints(bus);
    const { id } = points.create("yard", "olga", undefined);
    await points.pull(id, "yard", "olga", 0, 10, never);
    const gone = new AbortController();
    const waiting = points.pull(id, "yard", "olga", 60_000, 10, gone.signal);
    gone.abort();
    expect((await waiting).messages).toEqual([]);
    await expect(points.pull(id, "yard", "vera", 0, 10, never)).rejects.toThrow(/no such subscription/);
    points.cancel(id, "yard", "olga");
    await expect(points.pull(id, "yard", "olga", 0, 10, never)).rejects.toThrow(/no such subscription/);
  });

  it("lets a subscription lapse unless renewed", () => {
    const bus = new FakeBus();
    let now = 1_000_000;
    points = new PullPoints(bus, () => now);
    const a = points.create("yard", "olga", 10_000);
    const b = points.create("yard", "olga", 10_000);
    now += 8000;
    points.renew(b.id, "yard", "olga", 10_000);
    now += 5000;
    expect(() => points?.renew(a.id, "yard", "olga", 10_000)).toThrow(/no such subscription/);
    expect(points.renew(b.id, "yard", "olga", 10_000)).toBe(now + 10_000);
  });
});
