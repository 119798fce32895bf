/**
 * ONVIF PullPoint subscriptions (Events service, WS-BaseNotification), fed from camgate's event bus: a
 * camera's motion, tamper, video loss and alarm input become ONVIF notifications
 * (`tns1:VideoSource/MotionAlarm` with `State`, the topics Home Assistant's ONVIF integration parses).
 * Everything is bounded: subscriptions per user and camera (so one user cannot take a camera's), per camera
 * and in all, messages queued per subscription (the
 * oldest dropped first), the long-poll of a PullMessages (≤ 60 s, one waiting pull per subscription), and
 * a subscription's life (renewed by the client, swept when it lapses).
 */
import { randomBytes } from "node:crypto";
import type { CamgateEvent } from "../../events/model.ts";
import { OnvifFault } from "./onvif-device.ts";

export interface OnvifNotification {
  topic: string;
  utcTime: string;
  /** `Initialized` for the state sent on subscribing, `Changed` after. */
  operation: "Initialized" | "Changed";
  source: [string, string];
  data: [string, string];
}

interface TopicMapping {
  topic: string;
  source: [string, string];
  item: string;
}

/** Dahua codes → ONVIF topics (ONVIF Core spec, Appendix "Topics"; HA `onvif/parsers.py` reads these). */
export const TOPICS: Record<string, TopicMapping> = {
  VideoMotion: { topic: "tns1:VideoSource/MotionAlarm", source: ["Source", "video"], item: "State" },
  VideoBlind: {
    topic: "tns1:VideoSource/GlobalSceneChange/ImagingService",
    source: ["Source", "video"],
    item: "State",
  },
  VideoLoss: { topic: "tns1:VideoSource/SignalLoss", source: ["Source", "video"], item: "State" },
  AlarmLocal: {
    topic: "tns1:Device/Trigger/DigitalInput",
    source: ["InputToken", "input"],
    item: "LogicalState",
  },
};

/** A bus event as a notification, when it is a state change ONVIF has a topic for. */
export function notificationOf(event: CamgateEvent): OnvifNotification | undefined {
  const mapping = TOPICS[event.code];
  if (!mapping || (event.action !== "start" && event.action !== "stop")) return undefined;
  // AlarmLocal's channel is the input: one token per input.
  const source: [string, string] =
    event.code === "AlarmLocal" ? [mapping.source[0], `input${event.channel}`] : mapping.source;
  return {
    topic: mapping.topic,
    utcTime: new Date(event.receivedAt).toISOString(),
    operation: "Changed",
    source,
    data: [mapping.item, String(event.action === "start")],
  };
}

interface Waiter {
  resolve: () => void;
  timer: NodeJS.Timeout;
}

interface Subscription {
  id: string;
  camera: string;
  user: string;
  expiresAt: number;
  queue: OnvifNotification[];
  waiter: Waiter | undefined;
}

export const PULL_POINT_LIMITS = {
  perCamera: 16,
  /** One user's subscriptions to one camera: an NVR or Home Assistant holds one (two across a restart). */
  perUserPerCamera: 4,
  total: 256,
  queued: 256,
  maxPullMs: 60_000,
  maxMessages: 100,
  minLifeMs: 10_000,
  maxLifeMs: 60 * 60_000,
  defaultLifeMs: 60_000,
} as const;

export class PullPoints {
  private readonly subscriptions = new Map<string, Subscription>();
  /** The last state per camera and topic source, for the `Initialized` messages of a new subscription. */
  private readonly states = new Map<string, Map<string, OnvifNotification>>();
  private readonly unsubscribe: () => void;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    bus: { subscribe(listener: (event: CamgateEvent) => void): () => void },
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = bus.subscribe((event) => this.offer(event));
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    this.sweeper.unref();
  }

  private offer(event: CamgateEvent): void {
    const notification = notificationOf(event);
    if (!notification) return;
    const states = this.states.get(event.camera) ?? new Map<string, OnvifNotification>();
    this.states.set(event.camera, states);
    states.set(`${notification.topic} ${notification.source[1]}`, notification);
    for (const subscription of this.subscriptions.values()) {
      if (subscription.camera !== event.camera) continue;
      subscription.queue.push(notification);
      if (subscription.queue.length > PULL_POINT_LIMITS.queued) subscription.queue.shift();
      this.wake(subscription);
    }
  }

  private wake(subscription: Subscription): void {
    const waiter = subscription.waiter;
    if (!waiter) return;
    subscription.waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.resolve();
  }

  private sweep(): void {
    const now = this.now();
    for (const subscription of this.subscriptions.values())
      if (subscription.expiresAt <= now) this.remove(subscription);
  }

  private remove(subscription: Subscription): void {
    this.wake(subscription);
    this.subscriptions.delete(subscription.id);
  }

  private lifeOf(asked: number | undefined): number {
    return Math.min(
      PULL_POINT_LIMITS.maxLifeMs,
      Math.max(PULL_POINT_LIMITS.minLifeMs, asked ?? PULL_POINT_LIMITS.defaultLifeMs),
    );
  }

  /** A subscription of this user to this camera's events, with its current states queued. */
  create(camera: string, user: string, lifeMs: number | undefined): { id: string; expiresAt: number } {
    this.sweep();
    const ofCamera = [...this.subscriptions.values()].filter((s) => s.camera === camera);
    const mine = ofCamera.filter((s) => s.user === user).length;
    if (
      mine >= PULL_POINT_LIMITS.perUserPerCamera ||
      ofCamera.length >= PULL_POINT_LIMITS.perCamera ||
      this.subscriptions.size >= PULL_POINT_LIMITS.total
    )
      throw new OnvifFault(
        "ter:Action/ter:TooManySubscriptions",
        "too many event subscriptions: unsubscribe, or let unused ones lapse",
        "Receiver",
      );
    const id = randomBytes(12).toString("hex");
    const now = this.now();
    const initial = [...(this.states.get(camera)?.values() ?? [])].map((state) => ({
      ...state,
      operation: "Initialized" as const,
    }));
    // A camera that has not reported motion yet is still: say so, so a client shows the sensor at once.
    if (!initial.some((state) => state.topic === TOPICS.VideoMotion?.topic))
      initial.unshift({
        topic: "tns1:VideoSource/MotionAlarm",
        utcTime: new Date(now).toISOString(),
        operation: "Initialized",
        source: ["Source", "video"],
        data: ["State", "false"],
      });
    const subscription: Subscription = {
      id,
      camera,
      user,
      expiresAt: now + this.lifeOf(lifeMs),
      queue: initial,
      waiter: undefined,
    };
    this.subscriptions.set(id, subscription);
    return { id, expiresAt: subscription.expiresAt };
  }

  private find(id: string, camera: string, user: string): Subscription {
    const subscription = this.subscriptions.get(id);
    // Another user's (or camera's) subscription is as unknown as a lapsed one.
    if (
      !subscription ||
      subscription.camera !== camera ||
      subscription.user !== user ||
      subscription.expiresAt <= this.now()
    )
      throw new OnvifFault(
        "ter:InvalidArgVal/ter:ResourceUnknown",
        "no such subscription (it may have lapsed)",
      );
    return subscription;
  }

  /**
   * Up to `limit` messages; when none is queued, waits up to `timeoutMs` (capped) for one, or until
   * `signal` aborts (the client went away). A newer pull on the same subscription ends an older one.
   */
  async pull(
    id: string,
    camera: string,
    user: string,
    timeoutMs: number,
    limit: number,
    signal: AbortSignal,
  ): Promise<{ messages: OnvifNotification[]; expiresAt: number }> {
    const subscription = this.find(id, camera, user);
    if (subscription.queue.length === 0 && timeoutMs > 0 && !signal.aborted) {
      this.wake(subscription);
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          if (subscription.waiter?.resolve === done) this.wake(subscription);
        };
        subscription.waiter = {
          resolve: done,
          timer: setTimeout(onAbort, Math.min(timeoutMs, PULL_POINT_LIMITS.maxPullMs)),
        };
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    const count = Math.max(1, Math.min(PULL_POINT_LIMITS.maxMessages, limit));
    return { messages: subscription.queue.splice(0, count), expiresAt: subscription.expiresAt };
  }

  renew(id: string, camera: string, user: string, lifeMs: number | undefined): number {
    const subscription = this.find(id, camera, user);
    subscription.expiresAt = this.now() + this.lifeOf(lifeMs);
    return subscription.expiresAt;
  }

  cancel(id: string, camera: string, user: string): void {
    this.remove(this.find(id, camera, user));
  }

  /** Ends a removed camera's subscriptions. */
  dropCamera(camera: string): void {
    for (const subscription of this.subscriptions.values())
      if (subscription.camera === camera) this.remove(subscription);
    this.states.delete(camera);
  }

  get size(): number {
    return this.subscriptions.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.unsubscribe();
    for (const subscription of [...this.subscriptions.values()]) this.remove(subscription);
  }
}
