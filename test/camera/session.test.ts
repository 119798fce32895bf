/** CameraSession against every emulator profile: round trips, budget, nonce handling, lockout safety, health. */
import { afterEach, describe, expect, it } from "vitest";
import { CameraApi } from "../../src/camera/api.ts";
import { CameraError } from "../../src/camera/errors.ts";
import { CameraSession, type CameraSessionOptions, type Health } from "../../src/camera/session.ts";
import {
  type EmulatorOptions,
  type ProfileName,
  type RunningEmulator,
  startEmulator,
} from "../../src/emulator/index.ts";
import { waitFor } from "../helpers/http.ts";

const PASSWORD = "secret";
const TYPE = "/cgi-bin/magicBox.cgi?action=getDeviceType";

describe("CameraSession", () => {
  const emulators: RunningEmulator[] = [];
  const sessions: CameraSession[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await Promise.all(emulators.splice(0).map((e) => e.close()));
  });

  async function setup(
    profile: ProfileName,
    emulatorOptions: Partial<EmulatorOptions> = {},
    sessionOptions: Partial<CameraSessionOptions> = {},
  ) {
    const emulator = await startEmulator({ profile, password: PASSWORD, ...emulatorOptions });
    emulators.push(emulator);
    const camera = emulator.cameras[0];
    if (!camera) throw new Error("no camera");
    const session = new CameraSession({
      id: "cam",
      url: camera.url,
      username: "admin",
      password: PASSWORD,
      ...sessionOptions,
    });
    sessions.push(session);
    return { camera, session, api: new CameraApi(session), control: camera.control };
  }

  const expectError = async (promise: Promise<unknown>, code: string) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CameraError);
    expect((error as CameraError).code).toBe(code);
    return error as CameraError;
  };

  it.each(["amcrest-ip2m-841b", "amcrest-ipm-723w", "dahua-2024"] as const)(
    "%s: N sequential calls cost N+1 camera requests and one login",
    async (profile) => {
      const { api, control } = await setup(profile);
      for (let i = 0; i < 10; i++) expect((await api.deviceInfo()).serial).toMatch(/\w+/);
      const counters = control.counters();
      // deviceInfo is 6 CGI calls: 60 calls, 61 requests.
      expect(counters.requests).toBe(61);
      expect(counters.logins).toBe(1);
      expect(counters.authFailures).toBe(0);
    },
  );

  it("legacy-2014: answers the Basic challenge, then sends Basic pre-emptively (only after the camera asked)", async () => {
    const { session, control } = await setup("legacy-2014");
    for (let i = 0; i < 5; i++)
      expect((await session.request({ target: TYPE })).body.toString()).toBe("type=IPC-HFW4300S-V2\r\n");
    expect(control.counters().requests).toBe(6);
    expect(control.counters().challenges).toBe(1);
  });

  it("nvr-strict-nonce: detects single-use nonces after two misses, then never wastes a login", async () => {
    const { session, control } = await setup("nvr-strict-nonce");
    for (let i = 0; i < 8; i++) expect((await session.request({ target: TYPE })).status).toBe(200);
    expect(session.singleUseNonces).toBe(true);
    const counters = control.counters();
    expect(counters.authFailures).toBe(0);
    // 2 per call (challenge + response); no call needed a third request.
    expect(counters.requests).toBe(16);
    expect(counters.ncReplays).toBe(0);
  });

  it("20 parallel calls stay within the budget and never reuse an nc", async () => {
    const { session, control } = await setup("amcrest-ip2m-841b", {}, { maxConnections: 4 });
    await session.request({ target: TYPE });
    control.resetCounters();
    control.setResponseDelay(20);
    const results = await Promise.all(Array.from({ length: 20 }, () => session.request({ target: TYPE })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const counters = control.counters();
    expect(counters.peakConnections).toBeLessThanOrEqual(4);
    expect(counters.ncReplays).toBe(0);
    expect(counters.authFailures).toBe(0);
    expect(session.budget.peak).toBe(4);
  });

  it("queues interactive requests ahead of background ones, and answers busy past the deadline", async () => {
    const { session } = await setup("amcrest-ip2m-841b", {}, { maxConnections: 1, queueTimeoutMs: 300 });
    const stream = await session.stream({
      target: "/cgi-bin/mjpg/video.cgi?channel=1&subtype=1",
      timeouts: { bodyMs: 0 },
    });
    const busy = await expectError(session.request({ target: TYPE }), "busy");
    expect(busy.retryAfterMs).toBeGreaterThan(0);
    expect(session.getHealth().state).toBe("busy");
    const order: string[] = [];
    const background = session
      .request({ target: TYPE, priority: "background" })
      .then(() => order.push("background"));
    const interactive = session
      .request({ target: TYPE, priority: "interactive" })
      .then(() => order.push("interactive"));
    stream.close();
    await Promise.all([background, interactive]);
    expect(order).toEqual(["interactive", "background"]);
    expect(session.getHealth().state).toBe("online");
  });

  it("a wrong password: one failed login per backoff period (doubling), never reaching the lockout", async () => {
    let now = 1_000_000;
    const { session, control } = await setup(
      "amcrest-ip2m-841b",
      { clock: () => now },
      { password: "wrong", now: () => now },
    );
    const healths: Health[] = [];
    session.onHealthChange((health) => healths.push(health));
    await expectError(session.request({ target: TYPE }), "auth-failed");
    expect(control.counters().authFailures).toBe(1);
    // Within the backoff nothing reaches the camera.
    const requests = control.counters().requests;
    for (let i = 0; i < 5; i++) await expectError(session.request({ target: TYPE }), "auth-failed");
    expect(control.counters().requests).toBe(requests);
    // 1 min later: one probe, one failed login; the next backoff is 2 min.
    now += 60_000;
    await expectError(session.request({ target: TYPE }), "auth-failed");
    expect(control.counters().authFailures).toBe(2);
    now += 60_000;
    await expectError(session.request({ target: TYPE }), "auth-failed");
    expect(control.counters().authFailures).toBe(2);
    now += 60_000;
    await expectError(session.request({ target: TYPE }), "auth-failed");
    expect(control.counters().authFailures).toBe(3);
    expect(control.lockedAddresses()).toEqual([]);
    expect(healths.map((h) => h.state)).toEqual(["auth-failed"]);
    // Fixed credentials end it at once.
    session.setCredentials("admin", PASSWORD);
    expect((await session.request({ target: TYPE })).status).toBe(200);
    expect(session.getHealth().state).toBe("online");
  });

  it("a password changed on the camera while the session works costs two failed logins, then backs off", async () => {
    let now = 2_000_000;
    const { session, control } = await setup("amcrest-ip2m-841b", { clock: () => now }, { now: () => now });
    await session.request({ target: TYPE });
    control.setPassword("changed");
    await expectError(session.request({ target: TYPE }), "auth-failed");
    expect(control.counters().authFailures).toBe(2);
    now += 30_000;
    await expectError(session.request({ target: TYPE }), "auth-failed");
    expect(control.counters().authFailures).toBe(2);
  });

  it("a 401 from the camera's connection limit while ours are busy is busy, not a bad password", async () => {
    const { session, control } = await setup(
      "amcrest-ip2m-841b",
      { maxConnections: 2 },
      { maxConnections: 4 },
    );
    await session.request({ target: TYPE });
    control.setResponseDelay(150);
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, () =>
        session.request({ target: TYPE }).then(
          () => "ok",
          (e: CameraError) => e.code,
        ),
      ),
    );
    // Each request is either served (its retry found a free camera connection) or busy; none is a bad password.
    expect(outcomes.filter((o) => o !== "ok" && o !== "busy")).toEqual([]);
    expect(control.counters().refusedOverLimit).toBeGreaterThan(0);
    expect(control.counters().authFailures).toBe(0);
    expect(session.getHealth().state).not.toBe("auth-failed");
    expect(session.singleUseNonces).toBe(false);
    control.setResponseDelay(0);
    expect((await session.request({ target: TYPE })).status).toBe(200);
  });

  it("a reboot takes the session offline and back online without intervention", async () => {
    const { session, control } = await setup("amcrest-ip2m-841b", { rebootDurationMs: 600 });
    const states: string[] = [];
    session.onHealthChange((health) => states.push(health.state));
    await session.request({ target: TYPE });
    const up = control.reboot();
    await waitFor(
      async () => {
        await session.request({ target: TYPE }).catch(() => undefined);
        return session.getHealth().state === "offline" ? true : undefined;
      },
      5000,
      "offline",
    );
    await up;
    expect((await session.request({ target: TYPE })).status).toBe(200);
    expect(states).toEqual(["online", "offline", "online"]);
  });

  it("times out on a camera that does not answer, and reports unreachable for a closed port", async () => {
    const { session, control, camera } = await setup(
      "amcrest-ip2m-841b",
      {},
      { timeouts: { headersMs: 200 } },
    );
    control.setResponseDelay(1000);
    await expectError(session.request({ target: TYPE }), "timeout");
    control.setResponseDelay(0);
    await control.stopListening();
    await expectError(session.request({ target: TYPE }), "unreachable");
    expect(session.getHealth().state).toBe("offline");
    expect(session.getHealth().reason).toContain("ECONNREFUSED");
    expect(camera.port).toBeGreaterThan(0);
  });

  it("refuses request targets with CR, LF or spaces", async () => {
    const { session, control } = await setup("amcrest-ip2m-841b");
    await expectError(session.request({ target: "/cgi-bin/x.cgi?a=1\r\nHost: evil" }), "bad-response");
    await expectError(session.request({ target: "/cgi-bin/x.cgi?a=1 2" }), "bad-response");
    expect(control.counters().requests).toBe(0);
  });

  it("a stream holds its budget slot until closed", async () => {
    const { session } = await setup("amcrest-ip2m-841b", {}, { maxConnections: 2 });
    const stream = await session.stream({
      target: "/cgi-bin/mjpg/video.cgi?channel=1&subtype=1",
      timeouts: { bodyMs: 0 },
    });
    expect(stream.status).toBe(200);
    expect(session.budget.inUse).toBe(1);
    const first = await new Promise<Buffer>((resolve) => stream.body.once("data", resolve));
    expect(first.toString("latin1")).toContain("--myboundary");
    stream.close();
    expect(session.budget.inUse).toBe(0);
  });
});
