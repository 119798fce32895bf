/**
 * Two camgate instances sharing four emulated cameras through one PostgreSQL (Debian's): each camera is
 * opened by exactly one instance (the emulators count event-stream connections and would see a second),
 * the cameras spread over both, and when one instance leaves, the other takes its cameras without a
 * moment of two sessions on any camera. What they share through the database: every camera's events on
 * either instance's live feed, each webhook delivery sent once by one of them in each camera's order, web
 * sessions and signed URLs that work on both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type EmulatedCameraHandle, type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { TALK_LIMITS } from "../../src/relay/talk.ts";
import { locateFfprobe, probeVideo } from "../helpers/ffprobe.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { jpegsOf } from "../helpers/mjpeg.ts";
import { locatePostgres, startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { locatePromtool, runTool } from "../helpers/rtsp.ts";
import { SseClient } from "../helpers/sse.ts";
import { WebhookReceiver } from "../helpers/webhook-receiver.ts";

const available = locatePostgres() !== undefined || process.env.CI === "true";
const IDS = ["north", "south", "east", "west"];

let server: TestPostgres;
const emulators: RunningEmulator[] = [];
const handles = new Map<string, EmulatedCameraHandle>();
const gateways: TestGateway[] = [];

beforeAll(async () => {
  if (!available) return;
  server = await startTestPostgres();
  for (const id of IDS) {
    const emulator = await startEmulator({ profile: "amcrest-ipm-723w", password: CAMERA_PASSWORD });
    emulators.push(emulator);
    handles.set(id, emulator.cameras[0] as EmulatedCameraHandle);
  }
}, 60_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.close().catch(() => undefined);
  await Promise.all(emulators.map((emulator) => emulator.close()));
  await server?.stop();
});

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PASSWORD = "alice-cluster-pw";

function start(instance: string, webhook?: WebhookReceiver): Promise<TestGateway> {
  return startTestGateway({
    emulators: handles,
    cameras: IDS.map((id) => ({ id, profile: "amcrest-ipm-723w" })),
    storage: { postgres: { url: server.url, instance, leaseSeconds: 3 } },
    events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
    users: [{ name: "alice", role: "admin", password: PASSWORD }],
    server: { rtsp: { listen: "127.0.0.1:0" } },
    ...(webhook
      ? { webhooks: [{ name: "hook", url: webhook.url, secret: SECRET, codes: ["AlarmLocal"] }] }
      : {}),
  });
}

const basic = { Authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}` };

/** Each camera's event-stream connections, as the cameras see them. */
const sessions = () => IDS.map((id) => handles.get(id)?.control.eventSubscribers() ?? 0);
const owned = (gateway: TestGateway) => [...(gateway.camgate.cluster?.owned.keys() ?? [])];

describe.skipIf(!available)("several camgate instances on one PostgreSQL", () => {
  it("open each camera once between them, and hand them over when one leaves", async () => {
    const a = await start("camgate-a");
    gateways.push(a);
    const b = await start("camgate-b");
    gateways.push(b);
    let worst = 0;
    await waitFor(
      () => {
        const now = sessions();
        worst = Math.max(worst, ...now);
        const both = [...owned(a), ...owned(b)];
        return now.every((n) => n === 1) && both.length === 4 && owned(a).length > 0 && owned(b).length > 0
          ? true
          : undefined;
      },
      30_000,
      "every camera opened by one instance, and both instances owning some",
    );
    expect(new Set([...owned(a), ...owned(b)]).size).toBe(4);

    // camgate-b leaves (a clean stop): camgate-a takes its cameras, one session each all along.
    const moved = owned(b);
    await b.close();
    gateways.splice(gateways.indexOf(b), 1);
    await waitFor(
      () => {
        const now = sessions();
        worst = Math.max(worst, ...now);
        return owned(a).length === 4 && now.every((n) => n === 1) ? true : undefined;
      },
      30_000,
      "camgate-a owning all four",
    );
    expect(moved.every((id) => owned(a).includes(id))).toBe(true);
    expect(worst).toBeLessThanOrEqual(1);
    const view = (await (await fetch(`${a.url}/api/v1/cluster`, { headers: basic })).json()) as {
      enabled: boolean;
      instances: { id: string; cameras: string[] }[];
      leases: { camera: string; owner: string; ageSeconds: number }[];
    };
    expect(view.enabled).toBe(true);
    expect(view.instances).toEqual([expect.objectContaining({ id: "camgate-a", cameras: [...IDS].sort() })]);
    expect(view.leases.map((lease) => lease.owner)).toEqual([
      "camgate-a",
      "camgate-a",
      "camgate-a",
      "camgate-a",
    ]);
    await a.close();
    gateways.splice(gateways.indexOf(a), 1);
  }, 90_000);

  it("share events, deliveries, web sessions and signed URLs", async () => {
    const receiver = new WebhookReceiver(SECRET);
    await receiver.start();
    const c = await start("camgate-c", receiver);
    gateways.push(c);
    const d = await start("camgate-d", receiver);
    gateways.push(d);
    try {
      await waitFor(
        () =>
          sessions().every((n) => n === 1) && owned(c).length > 0 && owned(d).length > 0 ? true : undefined,
        30_000,
        "every camera's event stream open, on both instances",
      );
      const feeds = [
        new SseClient(`${c.url}/api/v1/events/stream`, basic),
        new SseClient(`${d.url}/api/v1/events/stream`, basic),
      ];
      for (const feed of feeds) expect(await feed.open()).toBe(200);
      // Five tagged alarms from each camera (the channel is the tag), half its cameras on each instance.
      for (let tag = 0; tag < 5; tag++)
        for (const id of IDS) handles.get(id)?.control.trigger("AlarmLocal", "Pulse", { index: tag });
      const alarms = (feed: SseClient) => feed.messages.filter((m) => m.data.code === "AlarmLocal");
      for (const feed of feeds)
        await feed.waitFor(() => alarms(feed).length >= 20, 20_000, "20 alarms on each feed");
      for (const feed of feeds) {
        const tagged = alarms(feed).map(
          (m) => `${m.data.camera}/${(m.data as unknown as { channel: number }).channel}`,
        );
        expect(new Set(tagged).size).toBe(20);
        expect(new Set(alarms(feed).map((m) => m.data.camera))).toEqual(new Set(IDS));
      }
      for (const feed of feeds) feed.close();

      // Both instances run webhook workers on the one outbox: each event is sent once, each camera in order.
      await waitFor(() => (receiver.received.length >= 20 ? true : undefined), 20_000, "20 deliveries");
      expect(new Set(receiver.received.map((r) => r.id)).size).toBe(receiver.received.length);
      expect(receiver.received).toHaveLength(20);
      for (const id of IDS)
        expect(receiver.received.filter((r) => r.body.camera === id).map((r) => r.body.channel)).toEqual([
          0, 1, 2, 3, 4,
        ]);
      expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
      const sent = (g: TestGateway) => g.camgate.events.deliveries.webhooks[0]?.worker.sent ?? 0;
      // A worker counts a delivery once the receiver's answer is in, a moment after the receiver saw it.
      await waitFor(() => (sent(c) + sent(d) >= 20 ? true : undefined), 10_000, "20 deliveries counted");
      expect(sent(c) + sent(d)).toBe(20);

      // A camera's log, synced by its owner into the shared store, reads the same on the other instance.
      const logged = owned(c)[0] as string;
      const synced = await c.camgate.backups.logs.sync(logged, { from: "2000-01-01 00:00:00" });
      expect(synced.inserted).toBeGreaterThan(0);
      expect(await d.camgate.backups.logs.query(logged, {})).toEqual(
        await c.camgate.backups.logs.query(logged, {}),
      );
      expect((await d.camgate.backups.logs.query(logged, {})).length).toBe(synced.inserted);

      // A backup the owner made is known on the other instance: when, which commit, in whose repository.
      const backup = await c.camgate.backups.service.runOne(logged);
      expect(backup.commit).toBeDefined();
      const listed = (await (await fetch(`${d.url}/api/v1/backups`, { headers: basic })).json()) as {
        cameras: { camera: string; lastCommit?: string; instance?: string }[];
      };
      expect(listed.cameras.find((x) => x.camera === logged)).toMatchObject({
        lastCommit: backup.commit,
        instance: "camgate-c",
      });

      // Signed in on one instance, known on the other; a URL one signs opens on the other.
      const signIn = await fetch(`${c.url}/api/v1/session`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: "alice", password: PASSWORD }),
      });
      expect(signIn.status).toBe(200);
      const cookie = (signIn.headers.get("set-cookie") ?? "").split(";", 1)[0] as string;
      const whoami = await (await fetch(`${d.url}/api/v1/session`, { headers: { Cookie: cookie } })).json();
      expect(whoami).toMatchObject({ authenticated: true, user: "alice", via: "session" });
      const minted = await fetch(`${d.url}/api/v1/signed-urls`, {
        method: "POST",
        headers: { ...basic, "Content-Type": "application/json" },
        body: JSON.stringify({ path: "/api/v1/events?code=AlarmLocal", expiresIn: 60 }),
      });
      expect(minted.status).toBe(201);
      const { path } = (await minted.json()) as { path: string };
      expect((await fetch(`${c.url}${path}`)).status).toBe(200);
      // Signed out on the second: that one forgets the cookie at once.
      expect(
        (await fetch(`${d.url}/api/v1/session`, { method: "DELETE", headers: { Cookie: cookie } })).status,
      ).toBe(204);
      expect((await fetch(`${d.url}/api/v1/events`, { headers: { Cookie: cookie } })).status).toBe(401);
    } finally {
      await receiver.stop();
    }
  }, 90_000);

  it("serve any viewer of any camera through its owner, the camera seeing one client", async () => {
    for (const gateway of gateways.splice(0)) await gateway.close();
    const e = await start("camgate-e");
    gateways.push(e);
    const f = await start("camgate-f");
    gateways.push(f);
    await waitFor(
      () =>
        owned(e).length > 0 && owned(f).length > 0 && sessions().every((n) => n === 1) ? true : undefined,
      30_000,
      "both instances owning some cameras",
    );
    // A camera e owns, asked of f.
    const id = owned(e)[0] as string;
    const camera = handles.get(id)?.control;
    if (!camera) throw new Error("no emulator");
    camera.resetCounters();

    const snapshot = await fetch(`${f.url}/api/v1/cameras/${id}/snapshot.jpg`, { headers: basic });
    expect(snapshot.status).toBe(200);
    expect(Buffer.from(await snapshot.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const cgi = await fetch(`${f.url}/cam/${id}/cgi-bin/magicBox.cgi?action=getDeviceType`, {
      headers: basic,
    });
    expect(cgi.status).toBe(200);
    expect(await cgi.text()).toMatch(/^type=/m);

    // MJPEG viewers on both instances: frames for each, one MJPEG connection at the camera.
    const frames = async (base: string) => {
      const controller = new AbortController();
      const response = await fetch(`${base}/api/v1/cameras/${id}/stream.mjpeg`, {
        headers: basic,
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      let bytes = Buffer.alloc(0);
      while (jpegsOf(bytes).length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        bytes = Buffer.concat([bytes, value]);
      }
      controller.abort();
      return jpegsOf(bytes).length;
    };
    expect(await Promise.all([frames(e.url), frames(f.url)])).toEqual([3, 3]);
    expect(camera.counters().requestsByPath["/cgi-bin/mjpg/video.cgi"] ?? 0).toBe(1);

    // Hold to talk on f: the PCM reaches the camera's speaker through e (its audio.cgi, e's one talker).
    expect(f.camgate.cameras.get(id)?.session.route).toBeDefined();
    expect(e.camgate.cameras.get(id)?.session.route).toBeUndefined();
    const heardBefore = camera.talks().length;
    const socket = new WebSocket(`${f.url.replace(/^http/, "ws")}/api/v1/cameras/${id}/talk`, {
      headers: basic,
    });
    const closed = new Promise<number>((done) => socket.once("close", (code) => done(code)));
    await new Promise<void>((resolve, reject) => {
      socket.on("message", (data) => {
        const message = JSON.parse(data.toString()) as { type: string; value: string };
        if (message.type === "talk" && message.value === "open") resolve();
        if (message.type === "error") reject(new Error(message.value));
      });
      socket.once("unexpected-response", (_request, response) =>
        reject(new Error(`HTTP ${response.statusCode}`)),
      );
    });
    for (let i = 0; i < 50; i++) socket.send(Buffer.alloc(320, i));
    socket.send(JSON.stringify({ type: "stop" }));
    expect(await closed).toBe(1000);
    const heard = await waitFor(() => {
      const last = camera.talks().length > heardBefore ? camera.talks().at(-1) : undefined;
      return last?.endedAt !== undefined ? last : undefined;
    });
    expect(heard.bytes.length).toBe(TALK_LIMITS.leadingSilenceSamples + 8000);

    // Each instance says which cameras it owns; promtool finds nothing to complain about.
    const metrics = async (g: TestGateway) => (await fetch(`${g.url}/metrics`, { headers: basic })).text();
    const [ofE, ofF] = await Promise.all([metrics(e), metrics(f)]);
    expect(ofE).toContain(`camgate_cluster_camera_owned{camera="${id}"} 1`);
    expect(ofF).toContain(`camgate_cluster_camera_owned{camera="${id}"} 0`);
    expect(ofF).toMatch(/^camgate_cluster_instances 2$/m);
    const promtool = locatePromtool();
    if (promtool) {
      const lint = await runTool(promtool, ["check", "metrics"], 30_000, ofF);
      expect(lint.stdout.toString() + lint.stderr).toBe("");
    } else if (process.env.CI === "true")
      throw new Error("promtool is not installed (.ci/run installs prometheus)");

    // The main stream through both RTSP servers, read by ffprobe: one RTSP session at the camera.
    if (locateFfprobe() !== undefined || process.env.CI === "true") {
      let most = 0;
      const sampler = setInterval(() => {
        most = Math.max(most, camera.rtspSessions());
      }, 20);
      try {
        const rtsp = (g: TestGateway) =>
          `${(g.camgate.rtspUrl as string).replace("rtsp://", `rtsp://alice:${PASSWORD}@`)}/${id}`;
        expect(await Promise.all([probeVideo(rtsp(e)), probeVideo(rtsp(f))])).toEqual([
          expect.stringMatching(/^h264,/),
          expect.stringMatching(/^h264,/),
        ]);
      } finally {
        clearInterval(sampler);
      }
      expect(most).toBe(1);
    }
  }, 90_000);
});
