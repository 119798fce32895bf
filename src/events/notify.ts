/**
 * Notifications with the picture: each `notify:` target is an outbox target (`notify:<name>`), so a
 * notification is stored with its event, survives a receiver that is down and a restart, is retried with
 * backoff and goes out once, in order. What a target is sent is decided when the event is stored (the
 * router): the event's alert kinds (alert-kinds.ts) against the target's kinds, its cameras and its user's,
 * quiet hours, and a cooldown per camera and kind. Sending happens later, maybe after a retry, and says what
 * was decided.
 *
 * ntfy (https://docs.ntfy.sh/publish/): a POST to the topic's URL whose body is the snapshot JPEG
 * (`Filename`), with `Title`, `Message`, `Click`, `Tags`, `Priority` and `Actions` headers, and a bearer
 * token when the topic is protected; without a picture the body is the message. Non-ASCII titles and
 * messages are sent as RFC 2047 encoded words, which ntfy decodes.
 * http: a multipart form POST: the target's `fields` with placeholders filled, and the JPEG in `imageField`
 * (Pushover's `attachment`, Telegram's `photo`).
 */
import type { AlertKind, NotifyConfig } from "../config/schema.ts";
import { alertKindsOf, alertWords, zonesOf } from "./alert-kinds.ts";
import type { EventLinks } from "./event-links.ts";
import type { CamgateEvent } from "./model.ts";
import { clockText, isQuiet } from "./quiet-hours.ts";

export type NotifyTarget = NotifyConfig;

export function notifyTargetKey(name: string): string {
  return `notify:${name}`;
}

/** Whether a target limited to zones wants the event: it names one of them, or names no zone at all. */
export function inZones(target: Pick<NotifyTarget, "zones">, event: CamgateEvent): boolean {
  if (!target.zones) return true;
  const zones = zonesOf(event);
  return zones.length === 0
    ? !ZONED_CODES.has(event.code)
    : zones.some((zone) => target.zones?.includes(zone));
}

/**
 * Events that come from an area of the picture: limited to zones, one that names no zone is held back
 * (the camera's own motion names none: a target for the driveway is not woken by it).
 */
const ZONED_CODES = new Set([
  "VideoMotion",
  "SmartMotionHuman",
  "SmartMotionVehicle",
  "CrossLineDetection",
  "CrossRegionDetection",
]);

/** The kind a target is told an event is: the first of the event's kinds the target wants (person before motion). */
export function kindFor(target: NotifyTarget, event: CamgateEvent): AlertKind | undefined {
  const wanted = new Set(target.kinds);
  return alertKindsOf(event).find((kind) => wanted.has(kind));
}

export interface NotifyRouterOptions {
  /** Whether a user may see a camera (a target with `user` notifies only of those cameras). */
  maySee: (user: string, camera: string) => boolean;
  now?: () => number;
}

/** Decides, as each event is stored, which notification targets get it. */
export class NotifyRouter {
  /** When each target last notified of a camera and kind (ms). */
  private readonly last = new Map<string, number>();

  constructor(
    private readonly targets: readonly NotifyTarget[],
    private readonly options: NotifyRouterOptions,
  ) {}

  route(event: CamgateEvent): string[] {
    const now = (this.options.now ?? Date.now)();
    const keys: string[] = [];
    for (const target of this.targets) {
      const kind = kindFor(target, event);
      if (!kind) continue;
      if (!target.cameras.includes("*") && !target.cameras.includes(event.camera)) continue;
      if (!inZones(target, event)) continue;
      if (target.user !== undefined && !this.options.maySee(target.user, event.camera)) continue;
      const quiet = target.quietHours;
      if (quiet && !quiet.allow.includes(kind) && isQuiet(quiet, new Date(now), target.timeZone)) continue;
      const cooldown = `${target.name}\n${event.camera}\n${kind}`;
      const previous = this.last.get(cooldown);
      if (previous !== undefined && now - previous < target.cooldownSeconds * 1000) continue;
      this.last.set(cooldown, now);
      keys.push(notifyTargetKey(target.name));
    }
    // A cooldown older than a day is of no use to any target (the longest is a day).
    if (this.last.size > 10_000)
      for (const [key, at] of this.last) if (now - at > 86_400_000) this.last.delete(key);
    return keys;
  }
}

export interface NotificationContent {
  kind: AlertKind;
  title: string;
  message: string;
  /** Where a tap goes: camgate's page for the incident. */
  click: string;
  links: EventLinks;
  snapshot: Buffer | undefined;
  camera: string;
  time: string;
}

export function notificationContent(
  target: NotifyTarget,
  event: CamgateEvent,
  cameraName: string,
  links: EventLinks,
  snapshot: Buffer | undefined,
): NotificationContent | undefined {
  const kind = kindFor(target, event);
  if (!kind) return undefined;
  const time = clockText(new Date(event.receivedAt), target.timeZone);
  return {
    kind,
    ...alertWords(kind, event, cameraName, time),
    // A doorbell opens the live page ready to answer; anything else the incident.
    click: kind === "doorbell" ? `${links.live}?answer=1` : links.page,
    links,
    snapshot,
    camera: event.camera,
    time,
  };
}

const TAGS: Record<AlertKind, string> = {
  person: "bust_in_silhouette",
  vehicle: "car",
  doorbell: "bell",
  motion: "walking",
  "confirmed-motion": "walking",
  tamper: "warning",
  offline: "no_entry",
  security: "lock",
};

/** A header value as ntfy reads it: ASCII as is, anything else as an RFC 2047 encoded word. */
export function headerText(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  return `=?UTF-8?B?${Buffer.from(text, "utf8").toString("base64")}?=`;
}

export class NotifyError extends Error {
  constructor(
    readonly code: "refused" | "unreachable",
    message: string,
  ) {
    super(message);
    this.name = "NotifyError";
  }
}

async function post(target: NotifyTarget, init: RequestInit): Promise<void> {
  let response: Response;
  try {
    response = await fetch(target.url, {
      ...init,
      method: "POST",
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (error) {
    throw new NotifyError(
      "unreachable",
      `${target.name}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  // Read the answer to its end so the connection is reused, but never more than a little of it.
  const text = (await response.text().catch(() => "")).slice(0, 200);
  if (!response.ok)
    throw new NotifyError("refused", `${target.name} answered ${response.status} ${text}`.trim());
}

export async function sendNotification(target: NotifyTarget, content: NotificationContent): Promise<void> {
  if (target.kind === "ntfy") {
    const actions = [
      ...(content.links.clip ? [`view, Clip, ${content.links.clip}`] : []),
      ...(content.links.snapshot ? [`view, Picture, ${content.links.snapshot}`] : []),
    ];
    const headers: Record<string, string> = {
      Title: headerText(content.title),
      Click: content.click,
      Tags: TAGS[content.kind],
      Priority: String(content.kind === "doorbell" ? Math.max(4, target.priority) : target.priority),
      ...(actions.length > 0 ? { Actions: actions.join("; ") } : {}),
      ...(target.token ? { Authorization: `Bearer ${target.token}` } : {}),
    };
    if (content.snapshot) {
      headers.Filename = `${content.camera}-${content.time.replace(":", "")}.jpg`;
      headers.Message = headerText(content.message);
      return post(target, { headers, body: new Uint8Array(content.snapshot) });
    }
    return post(target, {
      headers: { ...headers, "Content-Type": "text/plain; charset=utf-8" },
      body: content.message,
    });
  }
  const values: Record<string, string> = {
    title: content.title,
    message: content.message,
    click: content.click,
    camera: content.camera,
    kind: content.kind,
    time: content.time,
    snapshotUrl: content.links.snapshot ?? "",
    clipUrl: content.links.clip ?? "",
  };
  const form = new FormData();
  for (const [name, template] of Object.entries(target.fields))
    form.append(
      name,
      template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole),
    );
  if (content.snapshot)
    form.append(
      target.imageField,
      new Blob([new Uint8Array(content.snapshot)], { type: "image/jpeg" }),
      `${content.camera}.jpg`,
    );
  return post(target, { body: form });
}
