/** The login behaviour of real devices, quirk by quirk (reference §1). */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { authorization, challengeOf, digestGet } from "../helpers/digest-client.ts";
import { httpGet, waitFor } from "../helpers/http.ts";

const PASSWORD = "secret";
const TARGET = "/cgi-bin/magicBox.cgi?action=getDeviceType";

describe("emulator authentication quirks", () => {
  const running: RunningEmulator[] = [];
  const sockets: Socket[] = [];
  async function emulator(
    options: Partial<Parameters<typeof startEmulator>[0]> = {},
  ): Promise<RunningEmulator> {
    const started = await startEmulator({ profile: "amcrest-ip2m-841b", password: PASSWORD, ...options });
    running.push(started);
    return started;
  }
  const base = (e: RunningEmulator) => e.cameras[0]?.url ?? "";
  const control = (e: RunningEmulator) => {
    const handle = e.cameras[0];
    if (!handle) throw new Error("no camera");
    return handle.control;
  };

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(running.splice(0).map((e) => e.close()));
  });

  it("rejects a quoted nc as a failed login, and accepts a quoted qop as Python requests sends it", async () => {
    const cam = await emulator();
    const quotedNc = await digestGet(base(cam), TARGET, { password: PASSWORD, quoteNc: true });
    expect(quotedNc.response.status).toBe(401);
    expect(control(cam).counters().authFailures).toBe(1);
    const quotedQop = await digestGet(base(cam), TARGET, { password: PASSWORD, quoteQop: true });
    expect(quotedQop.response.status).toBe(200);
    expect(quotedQop.response.text).toBe("type=IP2M-841B\r\n");
  });

  it("verifies uri and opaque exactly", async () => {
    const cam = await emulator();
    const otherUri = await digestGet(base(cam), TARGET, {
      password: PASSWORD,
      signedUri: "/cgi-bin/magicBox.cgi",
    });
    expect(otherUri.response.status).toBe(401);
    const noOpaque = await digestGet(base(cam), TARGET, { password: PASSWORD, omitOpaque: true });
    expect(noOpaque.response.status).toBe(401);
    expect(control(cam).counters().authFailures).toBe(2);
  });

  it("reusable nonce: nc must strictly increase; N calls cost N+1 requests and one login", async () => {
    const cam = await emulator();
    const { challenge } = await digestGet(base(cam), TARGET, { password: PASSWORD });
    for (let nc = 2; nc <= 5; nc++) {
      const response = await httpGet(`${base(cam)}${TARGET}`, {
        Authorization: authorization(challenge, TARGET, { password: PASSWORD, nc }),
      });
      expect(response.status).toBe(200);
    }
    const counters = control(cam).counters();
    expect(counters.requests).toBe(6);
    expect(counters.logins).toBe(1);
    expect(control(cam).logEntries("Login")).toHaveLength(1);
    const replay = await httpGet(`${base(cam)}${TARGET}`, {
      Authorization: authorization(challenge, TARGET, { password: PASSWORD, nc: 5 }),
    });
    expect(replay.status).toBe(401);
    expect(challengeOf(replay).nonce).not.toBe(challenge.nonce);
    // A replay is not a wrong password.
    expect(control(cam).counters().authFailures).toBe(0);
  });

  it("single-use nonce (NVR): reusing a nonce with nc=00000002 gets 401 and a new nonce", async () => {
    const nvr = await emulator({ profile: "nvr-strict-nonce" });
    const { response, challenge } = await digestGet(base(nvr), TARGET, { password: PASSWORD });
    expect(response.status).toBe(200);
    const reuse = await httpGet(`${base(nvr)}${TARGET}`, {
      Authorization: authorization(challenge, TARGET, { password: PASSWORD, nc: 2 }),
    });
    expect(reuse.status).toBe(401);
    expect(challengeOf(reuse).nonce).not.toBe(challenge.nonce);
    expect(control(nvr).counters().authFailures).toBe(0);
  });

  it("an expired nonce with the right password is answered stale=TRUE, algorithm=MD5", async () => {
    let now = 1_000_000;
    const cam = await emulator({ nonceLifetimeMs: 60_000, clock: () => now });
    const { challenge } = await digestGet(base(cam), TARGET, { password: PASSWORD });
    now += 61_000;
    const stale = await httpGet(`${base(cam)}${TARGET}`, {
      Authorization: authorization(challenge, TARGET, { password: PASSWORD, nc: 2 }),
    });
    expect(stale.status).toBe(401);
    expect(String(stale.headers["www-authenticate"])).toMatch(
      /^Digest realm="[^"]+", qop="auth", nonce="\d+", opaque="[0-9a-f]{40}", algorithm=MD5, stale=TRUE$/,
    );
    expect(control(cam).counters().authFailures).toBe(0);
    // A wrong password on an expired nonce is a failure, not stale.
    const wrong = await httpGet(`${base(cam)}${TARGET}`, {
      Authorization: authorization(challengeOf(stale), TARGET, { password: "nope" }),
    });
    expect(String(wrong.headers["www-authenticate"])).not.toContain("stale");
  });

  it("locks the source out after LockLoginTimes failures, even for the right password, until the lock expires", async () => {
    let now = 5_000_000;
    const cam = await emulator({ clock: () => now });
    expect(control(cam).config("General.LockLoginTimes")).toBe(5);
    for (let i = 0; i < 5; i++) {
      const { response } = await digestGet(base(cam), TARGET, { password: "wrong" });
      expect(response.status).toBe(401);
    }
    expect(control(cam).lockedAddresses()).toEqual(["127.0.0.1"]);
    const locked = await digestGet(base(cam), TARGET, { password: PASSWORD });
    expect(locked.response.status).toBe(401);
    expect(control(cam).counters().refusedLocked).toBeGreaterThan(0);
    now += 300_000;
    const after = await digestGet(base(cam), TARGET, { password: PASSWORD });
    expect(after.response.status).toBe(200);
    expect(control(cam).lockedAddresses()).toEqual([]);
  });

  it("answers 401 (not 503) when its connection limit is reached, and counts the peak", async () => {
    const cam = await emulator({ maxConnections: 3 });
    const port = cam.cameras[0]?.port ?? 0;
    for (let i = 0; i < 3; i++) {
      const socket = connect(port, "127.0.0.1");
      sockets.push(socket);
      await new Promise((resolve) => socket.once("connect", resolve));
    }
    await waitFor(
      () => (control(cam).counters().connections === 3 ? true : undefined),
      5000,
      "three idle connections",
    );
    const { response } = await digestGet(base(cam), TARGET, { password: PASSWORD });
    expect(response.status).toBe(401);
    expect(control(cam).counters().refusedOverLimit).toBeGreaterThan(0);
    expect(control(cam).counters().peakConnections).toBeGreaterThanOrEqual(4);
    for (const socket of sockets.splice(0)) socket.destroy();
    await waitFor(
      () => (control(cam).counters().connections === 0 ? true : undefined),
      5000,
      "connections closed",
    );
    expect((await digestGet(base(cam), TARGET, { password: PASSWORD })).response.status).toBe(200);
  });

  it("closes every connection: Connection: close on 200 and 401", async () => {
    const cam = await emulator();
    const { response } = await digestGet(base(cam), TARGET, { password: PASSWORD });
    expect(response.headers.connection).toBe("close");
    const challenge = await httpGet(`${base(cam)}${TARGET}`);
    expect(challenge.headers.connection).toBe("close");
  });

  it("Basic sent to a Digest camera (python-amcrest's first try) is challenged, not counted as a failure", async () => {
    const cam = await emulator();
    const response = await httpGet(`${base(cam)}${TARGET}`, {
      Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}`,
    });
    expect(response.status).toBe(401);
    expect(control(cam).counters().authFailures).toBe(0);
  });

  it("a password change on the camera makes old credentials fail", async () => {
    const cam = await emulator();
    control(cam).setPassword("new-password");
    expect((await digestGet(base(cam), TARGET, { password: PASSWORD })).response.status).toBe(401);
    expect((await digestGet(base(cam), TARGET, { password: "new-password" })).response.status).toBe(200);
  });
});
