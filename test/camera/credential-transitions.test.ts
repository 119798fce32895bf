/**
 * No lockout in a transition (issue 27): a reload to a wrong camera password and back, while viewers and
 * the event stream hold the camera's connections, costs one failed login and never locks the camera (which
 * locks after 5); and a camera that locks camgate out (another client on the same address failed five
 * times) is reported as locked out, with when the lock should end, and is not asked again before then.
 */
import { afterEach, describe, expect, it } from "vitest";
import { digestGet } from "../helpers/digest-client.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { jpegsOf } from "../helpers/mjpeg.ts";
import { openStream } from "../helpers/stream.ts";

let gateway: TestGateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

const healthOf = (g: TestGateway) => g.camgate.cameras.get("dogs")?.session.getHealth();

describe("credentials in transitions", () => {
  it("a reload to a wrong password and back: one failed login, auth-failed with the key to fix, no lockout", async () => {
    const g = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
      events: { enabled: true },
    });
    gateway = g;
    const camera = g.cameras.get("dogs");
    if (!camera) throw new Error("no camera");
    // A viewer and the event stream hold the camera's connections, as in a home that is running.
    const viewer = await openStream(g.url, "/api/v1/cameras/dogs/stream.mjpeg", undefined);
    try {
      await viewer.waitUntil((bytes) => jpegsOf(bytes).length >= 1, 15_000, "a frame");
      await waitFor(() => (camera.control.eventSubscribers() >= 1 ? true : undefined), 15_000, "events");
      const wrong = {
        ...g.config,
        cameras: g.config.cameras.map((c) => ({ ...c, password: "wrong-one-7" })),
      };
      await g.camgate.reload(wrong);
      // Requests keep coming (the UI, Home Assistant): the first refusal is a wrong password, not the
      // camera's connection limit, and nothing more is tried during the backoff.
      for (let i = 0; i < 8; i++)
        await fetch(`${g.url}/api/v1/cameras/dogs/time`).then((r) => r.arrayBuffer());
      await waitFor(() => (healthOf(g)?.state === "auth-failed" ? true : undefined), 10_000, "auth-failed");
      expect(healthOf(g)?.cause).toBe("wrong-password");
      const summary = (await (await fetch(`${g.url}/api/v1/cameras`)).json()) as {
        cameras: { id: string; health: { fix?: string; cause?: string } }[];
      };
      expect(summary.cameras[0]?.health).toMatchObject({
        fix: "cameras.dogs.password",
        cause: "wrong-password",
      });
      for (let i = 0; i < 8; i++)
        await fetch(`${g.url}/api/v1/cameras/dogs/time`).then((r) => r.arrayBuffer());
      expect(camera.control.counters().authFailures).toBe(1);
      // The right password back: tried at once, works, and the camera never locked anyone out.
      await g.camgate.reload(g.config);
      expect((await fetch(`${g.url}/api/v1/cameras/dogs/time`)).status).toBe(200);
      expect(healthOf(g)?.state).toBe("online");
      expect(camera.control.counters().authFailures).toBe(1);
      expect(camera.control.lockedAddresses()).toEqual([]);
    } finally {
      viewer.close();
    }
  });

  it("a password changed on the camera while streams hold its connections: refused, not busy forever; no lockout", async () => {
    const g = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
      events: { enabled: true },
    });
    gateway = g;
    const camera = g.cameras.get("dogs");
    if (!camera) throw new Error("no camera");
    const viewer = await openStream(g.url, "/api/v1/cameras/dogs/stream.mjpeg", undefined);
    try {
      await viewer.waitUntil((bytes) => jpegsOf(bytes).length >= 1, 15_000, "a frame");
      await waitFor(() => (camera.control.eventSubscribers() >= 1 ? true : undefined), 15_000, "events");
      camera.control.setPassword("changed-in-the-app-1");
      // The owner's apps keep asking; before, each was "busy (its connection limit)" and retried at once.
      await waitFor(
        async () => {
          await fetch(`${g.url}/api/v1/cameras/dogs/time`).then((r) => r.arrayBuffer());
          return healthOf(g)?.state === "auth-failed" ? true : undefined;
        },
        15_000,
        "the refusal to be named",
      );
      expect(healthOf(g)?.cause).toBe("locked-out");
      const failures = camera.control.counters().authFailures;
      expect(failures).toBeLessThanOrEqual(3);
      for (let i = 0; i < 10; i++)
        await fetch(`${g.url}/api/v1/cameras/dogs/time`).then((r) => r.arrayBuffer());
      expect(camera.control.counters().authFailures).toBe(failures);
      expect(camera.control.lockedAddresses()).toEqual([]);
    } finally {
      viewer.close();
    }
  });

  it("a camera that locks camgate out: reported as locked out with its end, and not asked before it", async () => {
    const g = await startTestGateway({
      cameras: [
        {
          id: "dogs",
          profile: "amcrest-ip2m-841b",
          emulator: { lockDurationMs: 300_000 },
        },
      ],
    });
    gateway = g;
    const camera = g.cameras.get("dogs");
    if (!camera) throw new Error("no camera");
    expect((await fetch(`${g.url}/api/v1/cameras/dogs/time`)).status).toBe(200);
    // Another client on camgate's address fails five logins (the camera's LockLoginTimes): it locks the address.
    for (let i = 0; i < 5; i++)
      await digestGet(camera.url, "/cgi-bin/magicBox.cgi?action=getDeviceType", { password: "a-guess" });
    expect(camera.control.lockedAddresses().length).toBeGreaterThan(0);
    // camgate's next calls are refused; it names the lockout and its end.
    for (let i = 0; i < 3; i++) await fetch(`${g.url}/api/v1/cameras/dogs/time`).then((r) => r.arrayBuffer());
    await waitFor(() => (healthOf(g)?.cause === "locked-out" ? true : undefined), 10_000, "locked out");
    const health = healthOf(g);
    expect(health?.retryAt).toBeGreaterThanOrEqual(Date.now() + 290_000);
    expect(health?.reason).toMatch(/locked camgate's address out/);
    // No attempt before the lock ends, however often it is asked.
    const requests = camera.control.counters().requests;
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${g.url}/api/v1/cameras/dogs/time`);
      expect(response.status).toBe(502);
      await response.arrayBuffer();
    }
    expect(camera.control.counters().requests).toBe(requests);
    expect(g.logs()).toMatch(/locked camgate out/);
    // camgate's own logins never counted toward the lock: its password is right.
    expect(camera.control.counters().authFailures).toBe(5);
  });
});
