/**
 * Notifications with the picture, end to end: emulated cameras (an Amcrest AD410 doorbell and an outdoor
 * camera) send their events, camgate stores them and delivers to an ntfy-style receiver (the JPEG as the
 * body, title and message headers, a click URL and actions with signed links), to a form endpoint with the
 * picture (kind http), and to a webhook whose payload now carries absolute signed links a receiver opens
 * without a login. Deliveries are retried while the receiver is down and arrive once, in order; quiet hours
 * and the cooldown hold (read from the outbox, which is written with the event).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CamgateEvent } from "../../src/events/model.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { decoded, PostReceiver } from "../helpers/ntfy-receiver.ts";
import { WebhookReceiver } from "../helpers/webhook-receiver.ts";

const SECRET = "whsec_bm90aWZ5LXRlc3Qtc2VjcmV0LTAxMjM0NTY3";
const JPEG_START = Buffer.from([0xff, 0xd8]);

/** Quiet hours that hold now, in UTC: from an hour ago to an hour from now. */
function quietNow(): { from: string; to: string } {
  const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  return { from: clock(Date.now() - 3_600_000), to: clock(Date.now() + 3_600_000) };
}

describe("notifications", () => {
  let gw: TestGateway;
  const ntfy = new PostReceiver();
  const hook = new WebhookReceiver(SECRET);

  beforeAll(async () => {
    await Promise.all([ntfy.start(), hook.start()]);
    gw = await startTestGateway({
      cameras: [
        { id: "door", profile: "amcrest-ad410", config: { name: "Front door" } },
        { id: "yard", profile: "amcrest-ipm-723w", config: { name: "Back yard" } },
      ],
      users: [{ name: "alice", role: "admin", password: "alice-notify-pw" }],
      events: { enabled: true, heartbeatSeconds: 1 },
      webhooks: [{ name: "hook", url: hook.url, secret: SECRET, codes: ["SmartMotionHuman"] }],
      notify: [
        {
          name: "phone",
          url: ntfy.url("/house"),
          token: "tk_phone",
          kinds: ["person", "doorbell"],
          cooldownSeconds: 600,
        },
        {
          name: "night",
          url: ntfy.url("/night"),
          kinds: ["person", "doorbell"],
          quietHours: { ...quietNow(), allow: ["doorbell"] },
          timeZone: "UTC",
          cooldownSeconds: 0,
        },
        { name: "log", url: ntfy.url("/log"), kinds: ["person", "doorbell", "motion"], cooldownSeconds: 0 },
        {
          name: "form",
          kind: "http",
          url: ntfy.url("/form"),
          kinds: ["doorbell"],
          fields: { token: "app-token", title: "{title}", message: "{message} ({kind})", url: "{click}" },
          imageField: "attachment",
        },
      ],
    });
    await waitFor(
      () =>
        ["door", "yard"].every((id) => gw.camgate.events.sources.streams.get(id)?.current === "live")
          ? true
          : undefined,
      10_000,
      "both event streams",
    );
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await Promise.all([ntfy.stop(), hook.stop()]);
  });

  const control = (id: string) => {
    const camera = gw.cameras.get(id);
    if (!camera) throw new Error(`no camera ${id}`);
    return camera.control;
  };

  /** The outbox rows of a target, by state (written with the event, before anything is sent). */
  async function routed(target: string): Promise<number> {
    const rows = await gw.camgate.events.outbox.summary();
    return rows.filter((row) => row.target === target).reduce((n, row) => n + Number(row.count), 0);
  }

  /** Waits until nothing is pending for the target, and answers what its receiver path got. */
  function drained(target: string, path: string) {
    return waitFor(
      async () => {
        const rows = await gw.camgate.events.outbox.summary();
        const pending = rows.find((r) => r.target === target && r.state === "pending");
        return pending === undefined ? ntfy.to(path) : undefined;
      },
      30_000,
      `${target}'s queue drained`,
    );
  }

  /** The first beginning (start or pulse) of `code` stored at or after `after`. */
  async function storedEvent(camera: string, code: string, after = 0): Promise<CamgateEvent> {
    return waitFor(
      async () => {
        const page = await gw.camgate.events.store.list({ cameras: "*", camera, code, limit: 10 });
        return page.events.find((e) => Date.parse(e.receivedAt) >= after && e.action !== "stop");
      },
      10_000,
      `a stored ${code} of ${camera}`,
    );
  }

  it("a person seen by the camera reaches the phone with the picture, and the webhook with signed links", async () => {
    const before = Date.now();
    control("yard").trigger("SmartMotionHuman", "Start");
    const [post] = await waitFor(
      () => (ntfy.to("/house").length > 0 ? ntfy.to("/house") : undefined),
      15_000,
      "the notification",
    );
    if (!post) throw new Error("no notification");
    expect(post.body.subarray(0, 2)).toEqual(JPEG_START);
    expect(decoded(post.headers.title)).toBe("Back yard: Person");
    expect(decoded(post.headers.message)).toMatch(/^A person in Region1 at \d\d:\d\d$/);
    expect(post.headers.filename).toMatch(/^yard-\d{4}\.jpg$/);
    expect(post.headers.tags).toBe("bust_in_silhouette");
    expect(post.headers.authorization).toBe("Bearer tk_phone");
    const event = await storedEvent("yard", "SmartMotionHuman", before);
    expect(post.headers.click).toBe(`${gw.url}/events?incident=${event.incident}`);

    // The picture link in the actions opens without a login; a changed signature does not.
    const picture = /view, Picture, (\S+)/.exec(String(post.headers.actions))?.[1];
    if (!picture) throw new Error(`no picture action in ${post.headers.actions}`);
    const fetched = await fetch(picture);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get("content-type")).toBe("image/jpeg");
    expect(Buffer.from(await fetched.arrayBuffer())).toEqual(post.body);
    const forged = picture.replace(/cg_sig=(.)/, (_, c: string) => `cg_sig=${c === "A" ? "B" : "A"}`);
    expect((await fetch(forged)).status).toBe(401);
    // Only GET: the same link cannot be used to change anything.
    expect((await fetch(picture, { method: "DELETE" })).status).toBeGreaterThanOrEqual(400);

    const delivered = await waitFor(
      () => hook.received.find((d) => d.body.id === event.id),
      10_000,
      "the webhook",
    );
    expect(delivered.signatureValid).toBe(true);
    const links = (delivered.body as unknown as { links: Record<string, string> }).links;
    expect(links.snapshot?.startsWith(`${gw.url}/api/v1/events/${event.id}/snapshot.jpg?`)).toBe(true);
    expect(links.incident?.startsWith(`${gw.url}/api/v1/incidents/${event.incident}?`)).toBe(true);
    expect(Date.parse(links.expiresAt ?? "") - Date.now()).toBeGreaterThan(23 * 3_600_000);
    expect((await fetch(links.snapshot ?? "")).status).toBe(200);
    const incident = (await (await fetch(links.incident ?? "")).json()) as { id: string; code: string };
    expect(incident).toMatchObject({ id: event.incident, code: "SmartMotionHuman" });
    control("yard").trigger("SmartMotionHuman", "Stop");
  }, 30_000);

  it("a doorbell press rings through quiet hours at a higher priority, and reaches a form with its picture", async () => {
    const before = Date.now();
    expect(control("door").pressDoorbell()).toBe(true);
    const post = await waitFor(() => ntfy.to("/night")[0], 15_000, "the doorbell through quiet hours");
    expect(decoded(post.headers.title)).toBe("Front door: Doorbell");
    expect(post.headers.priority).toBe("4");
    expect(post.headers.tags).toBe("bell");
    expect(post.body.subarray(0, 2)).toEqual(JPEG_START);

    const form = await waitFor(() => ntfy.to("/form")[0], 15_000, "the form");
    const fields = await new Request("http://form.test/", {
      method: "POST",
      headers: { "content-type": String(form.headers["content-type"]) },
      body: form.body,
    }).formData();
    expect(fields.get("token")).toBe("app-token");
    expect(fields.get("title")).toBe("Front door: Doorbell");
    expect(fields.get("message")).toMatch(/^Someone rang at \d\d:\d\d \(doorbell\)$/);
    const event = await storedEvent("door", "_DoTalkAction_", before);
    // A doorbell opens the live page, ready to answer.
    expect(fields.get("url")).toBe(`${gw.url}/camera/door?answer=1`);
    expect(post.headers.click).toBe(`${gw.url}/camera/door?answer=1`);
    expect(event.incident).toBeTruthy();
    const attachment = fields.get("attachment");
    if (!(attachment instanceof Blob)) throw new Error("no attachment");
    expect(attachment.type).toBe("image/jpeg");
    expect(Buffer.from(await attachment.arrayBuffer()).subarray(0, 2)).toEqual(JPEG_START);
  }, 30_000);

  it("quiet hours keep a person from the night target; the cooldown keeps a second one from the phone", async () => {
    const phoneBefore = await routed("notify:phone");
    const nightBefore = await routed("notify:night");
    const before = Date.now();
    control("door").trigger("SmartMotionHuman", "Start");
    await storedEvent("door", "SmartMotionHuman", before);
    control("door").trigger("SmartMotionHuman", "Stop");
    expect(await routed("notify:phone")).toBe(phoneBefore + 1);
    expect(await routed("notify:night")).toBe(nightBefore);

    // Within the phone's 10 minutes of cooldown for this camera and kind: stored, not routed to the phone.
    const again = Date.now();
    control("door").trigger("SmartMotionHuman", "Start");
    await storedEvent("door", "SmartMotionHuman", again);
    control("door").trigger("SmartMotionHuman", "Stop");
    expect(await routed("notify:phone")).toBe(phoneBefore + 1);
  }, 30_000);

  it("a receiver that is down gets every notification once it is back, once each and in order", async () => {
    // What the tests before sent is out first.
    const already = (await drained("notify:log", "/log")).length;
    ntfy.failing = true;
    const attempts = ntfy.attempts;
    const routedBefore = await routed("notify:log");
    // Three alerts of one camera, one queue: each waits behind the one before while the receiver is down.
    expect(control("door").pressDoorbell()).toBe(true);
    await waitFor(() => (ntfy.attempts >= attempts + 2 ? true : undefined), 15_000, "failed attempts");
    control("door").trigger("SmartMotionHuman", "Start");
    control("door").trigger("VideoMotion", "Start");
    await waitFor(
      async () => ((await routed("notify:log")) >= routedBefore + 3 ? true : undefined),
      10_000,
      "three alerts routed",
    );
    ntfy.failing = false;
    const log = await drained("notify:log", "/log");
    control("door").trigger("SmartMotionHuman", "Stop");
    control("door").trigger("VideoMotion", "Stop");
    expect(log.slice(already).map((post) => decoded(post.headers.title))).toEqual([
      "Front door: Doorbell",
      "Front door: Person",
      "Front door: Motion",
    ]);
    // Once each: as many posts as rows routed to the target, none dead.
    expect(log.length).toBe(await routed("notify:log"));
    const dead = (await gw.camgate.events.outbox.list("dead")).filter((d) => d.target === "notify:log");
    expect(dead).toEqual([]);
  }, 60_000);
});
