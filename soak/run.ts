/**
 * `npm run soak [-- --minutes N]`: camgate under load and faults for a while (10 minutes by default), then
 * the invariants that must hold, printed as a table and as JSON; exits 1 when one does not. Not part of
 * `npm test`; CI runs a one-minute version. Loopback only.
 *
 * Setup: 8 emulated cameras of mixed profiles in this process (so the soak can inject faults), the gateway
 * in its own process (so it can be SIGKILLed), 100 MJPEG viewers, SSE readers, a webhook receiver, an MQTT
 * broker and subscriber. Each camera sends tagged events (AlarmLocal pulses whose channel is a sequence
 * number) throughout. Faults: a reboot, a stall, a password changed on the camera and changed back, a slow
 * camera, the webhook receiver down, a malformed event part, and a SIGKILL of the gateway with a restart.
 * Throughout, a ninth camera's RTSP is a hostile server (small packets pinned in padded chunks) watched by
 * one viewer, and a hostile client floods, trickles and garbles camgate's RTSP port (issue 28); a tenth
 * camera's RTSP fails PLAY every time while a viewer keeps asking, and cam2's password is changed to a wrong
 * one in camgate.yaml and back, each by a reload (issue 27).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { type Child, rssMb, startTsx } from "../bench/support/processes.ts";
import {
  type EmulatedCameraHandle,
  type ProfileName,
  type RunningEmulator,
  startEmulator,
} from "../src/emulator/index.ts";
import { startEmbeddedBroker } from "../src/events/mqtt-broker.ts";
import { FailingRtspCamera, HostileCamera, HostileRtspClient } from "../test/helpers/hostile-rtsp.ts";
import { freePort } from "../test/helpers/http.ts";
import { RawRtspClient } from "../test/helpers/rtsp.ts";
import { WebhookReceiver } from "../test/helpers/webhook-receiver.ts";
import { type FeedEvent, MqttWatcher, ReconnectingFeed, ReconnectingViewer } from "./clients.ts";

const argMinutes = process.argv.indexOf("--minutes");
const MINUTES = argMinutes >= 0 ? Number(process.argv[argMinutes + 1]) : 10;
if (!(MINUTES > 0 && MINUTES <= 120)) throw new Error("--minutes must be from 0.1 to 120");
const DURATION_MS = MINUTES * 60_000;
const VIEWERS = 100;

const PROFILES: ProfileName[] = [
  "amcrest-ip2m-841b",
  "amcrest-ip2m-841b",
  "amcrest-ipm-723w",
  "amcrest-ipm-723w",
  "dahua-2024",
  "dahua-2024",
  "nvr-strict-nonce",
  "legacy-2014",
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const secret = () => randomBytes(9).toString("base64url");

interface Sent {
  camera: string;
  tag: number;
  at: number;
  /** Whether the gateway had to see it: it was up, and so were the camera and its event stream. */
  counted: boolean;
}

interface Row {
  invariant: string;
  ok: boolean;
  detail: string;
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(100);
  }
  return check();
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "camgate-soak-"));
  const cameraPassword = secret();
  const adminToken = secret();
  const viewerToken = secret();
  const hookSecret = secret();
  const secrets = [
    cameraPassword,
    adminToken,
    viewerToken,
    hookSecret,
    "mail-secret",
    "ddns-secret",
    "wifi-secret",
  ];
  const emulators: RunningEmulator[] = [];
  const cameras: { id: string; handle: EmulatedCameraHandle }[] = [];
  const receiver = new WebhookReceiver(hookSecret);
  const brokerPort = await freePort();
  const broker = await startEmbeddedBroker("127.0.0.1", brokerPort);
  const mqttWatcher = new MqttWatcher();
  let gateway: Child | undefined;
  const logLines: string[] = [];
  const viewers: ReconnectingViewer[] = [];
  const feeds: ReconnectingFeed[] = [];
  const rows: Row[] = [];
  const sent: Sent[] = [];
  /** Cameras whose events the gateway cannot see right now (a fault), and when that ends. */
  const blind = new Map<string, number>();
  let gatewayUpSince = 0;
  let gatewayDown = false;
  let lockouts = 0;
  let unexpectedExits = 0;
  let hostileCamera: HostileCamera | undefined;
  let hostileClient: HostileRtspClient | undefined;
  let hostileViewer: RawRtspClient | undefined;
  let hostileStopped = false;
  let noPlayCamera: FailingRtspCamera | undefined;
  try {
    await receiver.start();
    for (const [i, profile] of PROFILES.entries()) {
      const emulator = await startEmulator({
        profile,
        password: cameraPassword,
        rebootDurationMs: 3000,
        config: { "Encode[0].ExtraFormat[0].Video.FPS": 5 },
      });
      emulators.push(emulator);
      const handle = emulator.cameras[0];
      if (!handle) throw new Error("no camera");
      cameras.push({ id: `cam${i + 1}`, handle });
    }
    // The hostile camera: its HTTP an emulator's, its RTSP the hostile server (5 MB/s, without end).
    const hostileHttp = await startEmulator({
      profile: "amcrest-ip2m-841b",
      password: cameraPassword,
      rtsp: false,
    });
    emulators.push(hostileHttp);
    hostileCamera = new HostileCamera(Number.POSITIVE_INFINITY, 5 * 1024 * 1024);
    await hostileCamera.start();
    const port = await freePort();
    const rtspPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // A camera whose RTSP fails PLAY every time, watched by a viewer that keeps asking (issue 27).
    const noPlayHttp = await startEmulator({
      profile: "amcrest-ip2m-841b",
      password: cameraPassword,
      rtsp: false,
    });
    emulators.push(noPlayHttp);
    noPlayCamera = new FailingRtspCamera("PLAY");
    await noPlayCamera.start();
    const hostilePort = hostileCamera.port;
    const noPlayPort = noPlayCamera.port;
    const configFile = join(dir, "camgate.yaml");
    /** The config, with cam2's password as given (the credential change mid-run is a reload of it). */
    const writeConfig = (cam2Password: string) =>
      writeFileSync(
        configFile,
        stringify({
          server: { listen: `127.0.0.1:${port}`, rtsp: { listen: `127.0.0.1:${rtspPort}` } },
          storage: { dir: join(dir, "data") },
          log: { level: "info" },
          events: { heartbeatSeconds: 2, snapshotCodes: [] },
          // The chaos suite's invariants count camera connections; clips (an RTSP session per camera) join it
          // once recording has its own invariants there.
          recording: { clips: { enabled: false } },
          webhooks: [{ name: "soak", url: receiver.url, secret: hookSecret, codes: ["AlarmLocal"] }],
          mqtt: { url: broker.url, protocolVersion: 4, homeAssistant: false },
          backup: { enabled: true, intervalHours: 0 },
          logSync: { enabled: true, intervalMinutes: 1 },
          users: [
            { name: "admin", role: "admin", token: adminToken },
            { name: "viewer", role: "viewer", token: viewerToken },
          ],
          cameras: [
            ...cameras.map(({ id, handle }) => ({
              id,
              url: handle.url,
              username: "admin",
              password: cameraPassword,
            })),
            {
              id: "hostile",
              url: hostileHttp.cameras[0]?.url,
              username: "admin",
              password: cameraPassword,
              rtsp: { port: hostilePort },
            },
            {
              id: "noplay",
              url: noPlayHttp.cameras[0]?.url,
              username: "admin",
              password: cameraPassword,
              rtsp: { port: noPlayPort },
            },
          ]
            .map((camera) => (camera.id === "cam2" ? { ...camera, password: cam2Password } : camera))
            // camgate's motion detection through the faults (reboots, stalls, SIGKILL): on the MJPEG hub
            // viewers share, and on snapshots.
            .map((camera) =>
              camera.id === "cam1"
                ? { ...camera, motion: { use: "detect" } }
                : camera.id === "cam4"
                  ? { ...camera, motion: { use: "detect", frames: "snapshots", fps: 2 } }
                  : camera,
            ),
        }),
      );
    writeConfig(cameraPassword);
    const startGateway = async () => {
      gateway = await startTsx("bench/support/cli.ts", ["serve", "-c", configFile], /camera\(s\) on http/);
      gateway.process.stdout?.on("data", (chunk: Buffer) => logLines.push(chunk.toString()));
      const child = gateway;
      child.process.once("exit", (code, signal) => {
        if (gatewayDown) return;
        unexpectedExits++;
        // What it said last is the only trace of why (its log goes to its stdout).
        process.stdout.write(
          `FAIL  the gateway exited on its own (code ${code}, signal ${signal}); its last lines:\n${logLines.join("").split("\n").slice(-25).join("\n")}\n`,
        );
      });
      gatewayUpSince = Date.now();
      gatewayDown = false;
    };
    await startGateway();
    await mqttWatcher.start(broker.url);
    const live = () => cameras.every(({ handle }) => handle.control.eventSubscribers() >= 1);
    await until(live, 20_000);
    const pid = gateway?.process.pid ?? 0;
    const baseline = { rss: rssMb(pid), fds: fdCount(pid) };

    for (let i = 0; i < VIEWERS; i++) {
      const camera = cameras[i % cameras.length]?.id;
      const viewer = new ReconnectingViewer(() => `${url}/api/v1/cameras/${camera}/stream.mjpeg`, {
        Authorization: `Bearer ${viewerToken}`,
      });
      viewers.push(viewer);
      viewer.start();
    }
    for (let i = 0; i < 3; i++) {
      const feed = new ReconnectingFeed(() => url, { Authorization: `Bearer ${viewerToken}` });
      feeds.push(feed);
      feed.start();
    }

    // The hostile peers, throughout: a viewer of the hostile camera (again after each restart) and the
    // hostile client.
    hostileClient = new HostileRtspClient(rtspPort);
    hostileClient.start();
    const watchHostile = async () => {
      while (!hostileStopped) {
        if (!hostileViewer || hostileViewer.closed) {
          hostileViewer?.close();
          hostileViewer = new RawRtspClient(rtspPort, { username: "viewer", password: viewerToken });
          await hostileViewer.play(`rtsp://127.0.0.1:${rtspPort}/hostile`).catch(() => undefined);
        }
        await sleep(2000);
      }
    };
    const hostileWatcher = watchHostile();
    // A viewer asking for the stream that never plays, every half second, throughout.
    const askNoPlay = async () => {
      while (!hostileStopped) {
        const client = new RawRtspClient(rtspPort, { username: "viewer", password: viewerToken });
        await client.request("DESCRIBE", `rtsp://127.0.0.1:${rtspPort}/noplay`).catch(() => undefined);
        client.close();
        await sleep(500);
      }
    };
    const noPlayAsker = askNoPlay();
    const noPlayStartedAt = Date.now();

    // Tagged events, one per camera about every 400 ms.
    const tags = new Map(cameras.map(({ id }) => [id, 0]));
    let sending = true;
    const sender = (async () => {
      while (sending) {
        for (const { id, handle } of cameras) {
          const tag = (tags.get(id) ?? 0) + 1;
          tags.set(id, tag);
          const counted =
            !gatewayDown &&
            Date.now() - gatewayUpSince > 2000 &&
            (blind.get(id) ?? 0) < Date.now() &&
            handle.control.eventSubscribers() >= 1;
          sent.push({ camera: id, tag, at: Date.now(), counted });
          handle.control.trigger("AlarmLocal", "Pulse", { index: tag });
        }
        await sleep(400);
      }
    })();
    const lockWatch = setInterval(() => {
      for (const { handle } of cameras) lockouts += handle.control.lockedAddresses().length;
    }, 500);

    const at = (fraction: number) => Math.round(DURATION_MS * fraction);
    const cam = (n: number) => cameras[n] as { id: string; handle: EmulatedCameraHandle };
    /** The camera's events cannot reach the gateway until `ms` from now (plus a margin). */
    const blindFor = (n: number, ms: number) => blind.set(cam(n).id, Date.now() + ms + 3000);
    const schedule: [number, string, () => Promise<void> | void][] = [
      [
        at(0.1),
        "reboot cam1",
        () => {
          blindFor(0, 3000 + 10_000);
          void cam(0).handle.control.reboot();
        },
      ],
      [
        at(0.2),
        "stall cam3 for 8 s",
        async () => {
          blindFor(2, 8000 + 12_000);
          cam(2).handle.control.stallStreams(true);
          await sleep(8000);
          cam(2).handle.control.stallStreams(false);
        },
      ],
      [
        at(0.3),
        "password changed on cam4",
        () => {
          blindFor(3, DURATION_MS);
          cam(3).handle.control.setPassword(`${cameraPassword}-new`);
        },
      ],
      [at(0.45), "password on cam4 changed back", () => cam(3).handle.control.setPassword(cameraPassword)],
      [at(0.35), "cam5 slow (1.5 s per request)", () => cam(4).handle.control.setResponseDelay(1500)],
      [at(0.55), "cam5 fast again", () => cam(4).handle.control.setResponseDelay(0)],
      [
        at(0.4),
        "webhook receiver failing",
        () => {
          receiver.failing = true;
        },
      ],
      [
        at(0.55),
        "webhook receiver back",
        () => {
          receiver.failing = false;
        },
      ],
      [at(0.5), "malformed event part on cam6", () => cam(5).handle.control.sendMalformedEventPart()],
      [
        at(0.15),
        "cam2's password changed to a wrong one in camgate.yaml, reloaded",
        async () => {
          blindFor(1, DURATION_MS * 0.1 + 5000);
          writeConfig(`${cameraPassword}-typo`);
          await reload();
          // What the owner's apps would ask meanwhile: each needs the camera's login.
          for (let i = 0; i < 5; i++)
            await fetch(`${url}/api/v1/cameras/cam2/time`, {
              headers: { Authorization: `Bearer ${adminToken}` },
            })
              .then((r) => r.arrayBuffer())
              .catch(() => undefined);
        },
      ],
      [
        at(0.25),
        "cam2's password put back, reloaded",
        async () => {
          writeConfig(cameraPassword);
          await reload();
        },
      ],
      [
        at(0.65),
        "gateway SIGKILL and restart",
        async () => {
          gatewayDown = true;
          const dying = gateway?.process;
          // A gateway that already exited on its own (counted as unexpected) has no exit left to wait for.
          const exited =
            dying && dying.exitCode === null && dying.signalCode === null
              ? new Promise<void>((resolve) => dying.once("exit", () => resolve()))
              : Promise.resolve();
          dying?.kill("SIGKILL");
          // What was still in flight to the gateway when it died is not its to lose or keep.
          for (const s of sent) if (s.at > Date.now() - 1000) s.counted = false;
          await exited;
          await sleep(1000);
          await startGateway();
        },
      ],
    ];
    schedule.sort((a, b) => a[0] - b[0]);
    async function reload(): Promise<void> {
      const response = await fetch(`${url}/api/v1/config/reload`, {
        method: "POST",
        headers: { Authorization: `Bearer ${adminToken}` },
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`reload answered ${response.status}`);
    }
    const started = Date.now();
    const faults: string[] = [];
    for (const [when, what, act] of schedule) {
      await sleep(Math.max(0, started + when - Date.now()));
      faults.push(`${((Date.now() - started) / 1000).toFixed(0)} s: ${what}`);
      process.stdout.write(`fault at ${faults[faults.length - 1]}\n`);
      await act();
    }
    await sleep(Math.max(0, started + DURATION_MS - Date.now()));
    sending = false;
    await sender;
    clearInterval(lockWatch);

    // Drain: every counted event delivered (webhook retries back off after the receiver outage).
    const expected = sent.filter((s) => s.counted);
    const keyOf = (camera: string, tag: number) => `${camera}/${tag}`;
    const tagOf = (event: FeedEvent | { camera: string; channel: number }) =>
      keyOf(event.camera, "channel" in event ? event.channel : -1);
    const webhookKeys = () =>
      new Set(receiver.received.filter((d) => d.body.code === "AlarmLocal").map((d) => tagOf(d.body)));
    await until(() => {
      const keys = webhookKeys();
      return expected.every((s) => keys.has(keyOf(s.camera, s.tag)));
    }, 180_000);

    // What the gateway stored, through its API.
    const stored = new Map<string, { id: string; tag: number }[]>();
    for (const { id } of cameras) {
      const events: { id: string; tag: number }[] = [];
      let cursor: string | undefined;
      for (;;) {
        const query = `camera=${id}&code=AlarmLocal&limit=1000${cursor ? `&cursor=${cursor}` : ""}`;
        const page = (await (
          await fetch(`${url}/api/v1/events?${query}`, { headers: { Authorization: `Bearer ${adminToken}` } })
        ).json()) as { events: { id: string; channel: number }[]; nextCursor?: string };
        for (const event of page.events) events.push({ id: event.id, tag: event.channel });
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      stored.set(id, events.reverse());
    }
    const storedKeys = new Set(
      [...stored].flatMap(([camera, events]) => events.map((e) => keyOf(camera, e.tag))),
    );
    const missingStored = expected.filter((s) => !storedKeys.has(keyOf(s.camera, s.tag)));
    rows.push({
      invariant: "every event sent while the gateway was up is stored",
      ok: missingStored.length === 0,
      detail: `${expected.length - missingStored.length} of ${expected.length} (${sent.length} sent in all)`,
    });
    const outOfOrder = [...stored].filter(([, events]) =>
      events.some((e, i) => i > 0 && e.tag <= (events[i - 1]?.tag ?? 0)),
    );
    rows.push({
      invariant: "stored in order per camera",
      ok: outOfOrder.length === 0,
      detail: outOfOrder.length === 0 ? "yes" : `out of order: ${outOfOrder.map(([c]) => c).join(", ")}`,
    });
    const keys = webhookKeys();
    const missingHook = expected.filter((s) => !keys.has(keyOf(s.camera, s.tag)));
    const deliveryIds = new Map<string, string>();
    let conflictingIds = 0;
    for (const delivery of receiver.received) {
      const known = deliveryIds.get(delivery.body.id);
      if (known !== undefined && known !== delivery.id) conflictingIds++;
      deliveryIds.set(delivery.body.id, delivery.id);
    }
    const firstArrival = new Map<string, number[]>();
    const seenHook = new Set<string>();
    for (const delivery of receiver.received) {
      if (delivery.body.code !== "AlarmLocal" || seenHook.has(delivery.body.id)) continue;
      seenHook.add(delivery.body.id);
      const list = firstArrival.get(delivery.body.camera) ?? [];
      list.push(delivery.body.channel);
      firstArrival.set(delivery.body.camera, list);
    }
    const hookDisorder = [...firstArrival].filter(([, list]) =>
      list.some((t, i) => i > 0 && t <= (list[i - 1] ?? 0)),
    );
    const duplicates = receiver.received.length - deliveryIds.size;
    rows.push({
      invariant: "every one delivered by webhook, in order per camera, a duplicate with its delivery id",
      ok: missingHook.length === 0 && hookDisorder.length === 0 && conflictingIds === 0,
      detail: `${expected.length - missingHook.length} of ${expected.length}; ${duplicates} duplicate(s), ${conflictingIds} with another id; order ${hookDisorder.length === 0 ? "kept" : "broken"}`,
    });
    const mqttKeys = new Set(
      mqttWatcher.events
        .filter((e) => e.code === "AlarmLocal")
        .map((e) => keyOf(e.camera, (e as unknown as { channel: number }).channel)),
    );
    const missingMqtt = expected.filter((s) => !mqttKeys.has(keyOf(s.camera, s.tag)));
    rows.push({
      invariant: "every one published on MQTT",
      ok: missingMqtt.length === 0,
      detail: `${expected.length - missingMqtt.length} of ${expected.length}`,
    });
    const feedKeys = new Set(
      feeds.flatMap((f) =>
        f.events
          .filter((e) => e.code === "AlarmLocal")
          .map((e) => keyOf(e.camera, (e as unknown as { channel: number }).channel)),
      ),
    );
    const missingFeed = expected.filter((s) => !feedKeys.has(keyOf(s.camera, s.tag)));
    rows.push({
      invariant: "every one on the SSE feed (replayed after reconnects)",
      ok: missingFeed.length === 0,
      detail: `${expected.length - missingFeed.length} of ${expected.length}`,
    });

    // Viewers: frames again after the last fault, except on the camera whose password is a fault of its own.
    const recently = Date.now() - 15_000;
    await until(() => viewers.every((v, i) => i % cameras.length === 3 || v.lastFrameAt > recently), 20_000);
    const stale = viewers.filter((v, i) => i % cameras.length !== 3 && v.lastFrameAt <= recently);
    rows.push({
      invariant: "viewers get video again after every reboot, stall and restart",
      ok: stale.length === 0,
      detail: `${viewers.length - stale.length - Math.ceil(viewers.length / cameras.length)} of ${viewers.length - Math.ceil(viewers.length / cameras.length)} (cam4 left out: its password fault)`,
    });

    rows.push({ invariant: "0 lockouts", ok: lockouts === 0, detail: `${lockouts} locked-address samples` });
    const failures = cameras.map(({ id, handle }) => `${id} ${handle.control.counters().authFailures}`);
    const cam4Failures = cam(3).handle.control.counters().authFailures;
    const cam2Failures = cam(1).handle.control.counters().authFailures;
    // One at the change, then at most one per backoff (60 s, then doubling) and one per restart with a live backoff.
    const allowed = 2 + Math.ceil(DURATION_MS / 60_000);
    rows.push({
      invariant: "failed logins bounded (one per backoff), for a change on the camera and in camgate.yaml",
      ok:
        cam4Failures <= allowed &&
        cam2Failures <= allowed &&
        cameras.every(({ handle }, i) => i === 3 || i === 1 || handle.control.counters().authFailures === 0),
      detail: failures.join(", "),
    });
    const peaks = cameras.map(({ id, handle }) => `${id} ${handle.control.counters().peakConnections}`);
    rows.push({
      invariant: "peak upstream sockets within the budget (4) per camera",
      ok: cameras.every(({ handle }) => handle.control.counters().peakConnections <= 4),
      detail: peaks.join(", "),
    });

    // The hostile peers end; the gateway lived through them.
    hostileStopped = true;
    await hostileClient.stop();
    hostileViewer?.close();
    await hostileWatcher;
    await noPlayAsker;
    await hostileCamera.stop();
    const noPlayMinutes = (Date.now() - noPlayStartedAt) / 60_000;
    // A viewer keeps asking: attempts every 5 s at most (1, 2, 4, then 5), plus one per gateway restart.
    const noPlayAllowed = Math.ceil(noPlayMinutes * 12) + 8;
    rows.push({
      invariant: "a camera that fails PLAY every time gets a handful of connections a minute",
      ok: noPlayCamera.connections <= noPlayAllowed,
      detail: `${noPlayCamera.connections} connections in ${noPlayMinutes.toFixed(1)} min (at most ${noPlayAllowed})`,
    });
    await noPlayCamera.stop();
    rows.push({
      invariant: "a hostile camera and a hostile RTSP client throughout: the gateway never fell over",
      ok: unexpectedExits === 0 && hostileClient.rounds > 0,
      detail: `${(hostileCamera.sent / 1024 / 1024).toFixed(0)} MB from the hostile camera, ${hostileClient.rounds} attacker rounds, ${unexpectedExits} unexpected exit(s)`,
    });

    // Resources: every client gone, linger over, then the process against its baseline.
    for (const viewer of viewers) viewer.stop();
    for (const feed of feeds) feed.stop();
    await sleep(12_000);
    const end = { rss: rssMb(gateway?.process.pid ?? 0), fds: fdCount(gateway?.process.pid ?? 0) };
    rows.push({
      invariant: "open file descriptors back to the baseline",
      ok: end.fds <= baseline.fds + 10,
      detail: `${baseline.fds} at start, ${end.fds} at the end`,
    });
    rows.push({
      invariant: "RSS back to the baseline",
      ok: end.rss <= baseline.rss * 1.5 + 30,
      detail: `${baseline.rss.toFixed(0)} MB at start, ${end.rss.toFixed(0)} MB at the end`,
    });

    // Secrets: in no log line, no database byte, no git object.
    const haystacks: [string, string][] = [["logs", logLines.join("")]];
    for (const file of ["camgate.db", "camgate.db-wal"]) {
      const path = join(dir, "data", file);
      if (existsSync(path) && statSync(path).size > 0)
        haystacks.push([file, readFileSync(path).toString("latin1")]);
    }
    const repo = join(dir, "data", "config-backups");
    if (existsSync(join(repo, ".git"))) {
      haystacks.push([
        "git objects",
        execFileSync("git", ["-C", repo, "cat-file", "--batch-all-objects", "--batch"], {
          maxBuffer: 256 * 1024 * 1024,
        }).toString("latin1"),
      ]);
    }
    const leaks = haystacks.flatMap(([where, text]) =>
      secrets.filter((s) => text.includes(s)).map(() => where),
    );
    rows.push({
      invariant: "0 secrets in logs, database and git",
      ok: leaks.length === 0,
      detail:
        leaks.length === 0
          ? `searched ${haystacks.map(([w]) => w).join(", ")}`
          : `found in ${leaks.join(", ")}`,
    });

    const width = Math.max(...rows.map((r) => r.invariant.length));
    process.stdout.write(`\ncamgate soak: ${MINUTES} min, ${cameras.length} cameras, ${VIEWERS} viewers\n`);
    for (const fault of faults) process.stdout.write(`  fault at ${fault}\n`);
    process.stdout.write("\n");
    for (const row of rows)
      process.stdout.write(`${row.ok ? "ok  " : "FAIL"}  ${row.invariant.padEnd(width)}  ${row.detail}\n`);
    process.stdout.write(`\n${JSON.stringify({ minutes: MINUTES, faults, invariants: rows })}\n`);
    return rows.every((r) => r.ok) ? 0 : 1;
  } finally {
    hostileStopped = true;
    await hostileClient?.stop();
    hostileViewer?.close();
    await hostileCamera?.stop();
    await noPlayCamera?.stop();
    for (const viewer of viewers) viewer.stop();
    for (const feed of feeds) feed.stop();
    await mqttWatcher.stop().catch(() => undefined);
    // Stopped at the end on purpose: not an exit of its own.
    gatewayDown = true;
    if (gateway && gateway.process.exitCode === null) await gateway.stop();
    await Promise.allSettled(emulators.map((e) => e.close()));
    await receiver.stop();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// However it goes, the soak ends: CI gets a failure with a reason, never a hang.
const deadline = setTimeout(
  () => {
    process.stdout.write(`FAIL  the soak did not finish within ${DURATION_MS / 60_000 + 8} minutes\n`);
    process.exit(1);
  },
  DURATION_MS + 8 * 60_000,
);
deadline.unref();
process.exitCode = await main();
