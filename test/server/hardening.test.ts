/**
 * The safe door, tried as an attacker and as an unlucky owner would (issue 12): no privilege by repeating a
 * parameter, no CSRF through GET, no active content from a camera in camgate's origin, no connection
 * starvation by one viewer, bounded loops, no 500 for a client's garbage, no race of our own Digest making.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../src/emulator/index.ts";
import { StreamAllowance } from "../../src/server/stream-allowance.ts";
import { CAMERA_PASSWORD, releaseStore, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import { openStream } from "../helpers/stream.ts";

const ADMIN = "admin-token-hard-1";
const OPERATOR = "operator-token-hard-2";
const VIEWER = "viewer-token-hard-3";
const METRICS = "metrics-token-hard-4";
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function call(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: /json/.test(response.headers.get("content-type") ?? "") && text ? JSON.parse(text) : text,
  };
}

describe("hardening", () => {
  let gw: TestGateway;
  let port = 0;
  beforeAll(async () => {
    port = await freePort();
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b", config: { passthroughPort: port } },
        { id: "nvr", profile: "nvr-strict-nonce" },
      ],
      users: [
        { name: "alice", role: "admin", token: ADMIN, password: "alice-pw" },
        { name: "olga", role: "operator", token: OPERATOR },
        { name: "victor", role: "viewer", token: VIEWER },
      ],
      server: { metricsToken: METRICS },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });
  const control = (id = "dogs") => {
    const camera = gw.cameras.get(id);
    if (!camera) throw new Error("no camera");
    return camera.control;
  };

  it("1: refuses a repeated parameter in either order, on /cam and on the passthrough port; the camera never reboots", async () => {
    const passthrough = `http://127.0.0.1:${port}`;
    const attempts: [string, string][] = [
      [VIEWER, "magicBox.cgi?action=getDeviceType&action=reboot"],
      [VIEWER, "magicBox.cgi?action=reboot&action=getDeviceType"],
      [VIEWER, "magicBox.cgi?action=getDeviceType&Action=reboot"],
      [VIEWER, "configManager.cgi?action=getConfig&name=General&name=Email.Password"],
      [VIEWER, "ptz.cgi?action=getStatus&action=start&channel=1&code=Left&arg1=0&arg2=8&arg3=0"],
      [OPERATOR, "magicBox.cgi?action=getDeviceType&action=reboot"],
      [OPERATOR, "configManager.cgi?action=getConfig&name=General&action=setConfig&General.MachineName=x"],
    ];
    const before = control().counters().requests;
    for (const [token, query] of attempts) {
      for (const base of [`${gw.url}/cam/dogs/cgi-bin/`, `${passthrough}/cgi-bin/`]) {
        const answer = await call(`${base}${query}`, { headers: bearer(token) });
        expect(answer.status, `${base}${query}`).toBe(400);
        expect(answer.body.code).toBe("ambiguous-query");
      }
    }
    expect(control().counters().requests).toBe(before);
    expect(control().camera.reboots).toBe(0);
    expect(control().config("General.MachineName")).not.toBe("x");
    // The plain read still works for the viewer; a comma list hiding a secret section needs admin.
    const read = await call(`${gw.url}/cam/dogs/cgi-bin/magicBox.cgi?action=getDeviceType`, {
      headers: bearer(VIEWER),
    });
    expect([read.status, read.body]).toEqual([200, "type=IP2M-841B\r\n"]);
    const hidden = await call(
      `${gw.url}/cam/dogs/cgi-bin/configManager.cgi?action=getConfig&name=General,Email`,
      {
        headers: bearer(VIEWER),
      },
    );
    expect(hidden.status).toBe(403);
  });

  it("5: a session cookie alone cannot GET a change through the passthrough; a read needs no header", async () => {
    const signIn = await fetch(`${gw.url}/api/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "alice", password: "alice-pw" }),
    });
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const change = `${gw.url}/cam/dogs/cgi-bin/configManager.cgi?action=setConfig&General.MachineName=csrf`;
    const refused = await call(change, { headers: { Cookie: cookie } });
    expect([refused.status, refused.body.code]).toEqual([403, "csrf-header-missing"]);
    expect(control().config("General.MachineName")).not.toBe("csrf");
    const read = await call(`${gw.url}/cam/dogs/cgi-bin/magicBox.cgi?action=getDeviceType`, {
      headers: { Cookie: cookie },
    });
    expect(read.status).toBe(200);
    const withHeader = await call(change, { headers: { Cookie: cookie, "X-Camgate-Csrf": "1" } });
    expect(withHeader.status).toBe(200);
    expect(control().config("General.MachineName")).toBe("csrf");
  });

  it("6: a compromised camera's HTML is inert in camgate's origin; the web UI has its own policy", async () => {
    control().serveHostilePage("<html><script>document.cookie</script></html>");
    try {
      const answer = await call(`${gw.url}/cam/dogs/cgi-bin/magicBox.cgi?action=getDeviceType`, {
        headers: bearer(ADMIN),
      });
      expect(answer.body).toContain("<script>");
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
      expect(answer.headers.get("content-security-policy")).toBe("sandbox");
    } finally {
      control().serveHostilePage(undefined);
    }
    const stream = await openStream(gw.url, "/api/v1/cameras/dogs/stream.mjpeg", undefined, bearer(ADMIN));
    expect(stream.response.headers["content-security-policy"]).toBe("sandbox");
    expect(stream.response.headers["x-content-type-options"]).toBe("nosniff");
    stream.close();
    const ui = await fetch(`${gw.url}/`);
    expect(ui.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    expect(ui.headers.get("x-frame-options")).toBe("SAMEORIGIN");
  });

  it("4: attached event clients share one camera connection; unknown channels and a viewer's extra streams are refused", async () => {
    const attach = "/cam/dogs/cgi-bin/eventManager.cgi?action=attach&codes=[All]&heartbeat=5";
    const clients = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(() => openStream(gw.url, attach, undefined, bearer(VIEWER))),
    );
    try {
      await waitFor(() => (control().eventSubscribers() >= 1 ? true : undefined), 10_000, "the upstream");
      expect(control().eventSubscribers()).toBe(1);
      control().trigger("VideoMotion", "Start");
      for (const client of clients)
        await client.waitUntil((b) => b.includes("Code=VideoMotion;action=Start"), 10_000, "the event");
      expect(clients[0]?.response.headers["content-type"]).toBe(
        "multipart/x-mixed-replace; boundary=myboundary",
      );
      // The admin still gets through at once.
      const admin = await call(`${gw.url}/api/v1/cameras/dogs/time`, { headers: bearer(ADMIN) });
      expect(admin.status).toBe(200);
    } finally {
      for (const client of clients) client.close();
      control().trigger("VideoMotion", "Stop");
    }
    const unknown = await call(`${gw.url}/cam/dogs/cgi-bin/mjpg/video.cgi?channel=7&subtype=1`, {
      headers: bearer(VIEWER),
    });
    expect(unknown.status).toBe(404);
    // Each kind of stream a viewer opens holds a camera connection: never all of them.
    const kinds = await Promise.all(
      [0, 1, 2].map((subtype) =>
        openStream(gw.url, `/api/v1/cameras/dogs/stream.mjpeg?subtype=${subtype}`, undefined, bearer(VIEWER)),
      ),
    );
    try {
      const fourth = await call(`${gw.url}/api/v1/cameras/dogs/stream.mjpeg?subtype=3`, {
        headers: bearer(VIEWER),
      });
      expect([fourth.status, fourth.body.code]).toEqual([503, "busy"]);
      const admin = await call(`${gw.url}/api/v1/cameras/dogs/time`, { headers: bearer(ADMIN) });
      expect(admin.status).toBe(200);
    } finally {
      for (const stream of kinds) stream.close();
    }
  });

  it("4: a long-lived passthrough stream: one per principal, and never the camera's last connection", () => {
    const entry = gw.camgate.cameras.get("dogs");
    if (!entry) throw new Error("no camera");
    const allowance = new StreamAllowance();
    const victor = allowance.take(entry, "victor");
    expect(() => allowance.take(entry, "victor")).toThrow(/already hold/);
    const olga = allowance.take(entry, "olga");
    const alice = allowance.take(entry, "alice");
    // Three of the budget's four: the fourth is left for everyone's calls.
    expect(() => allowance.take(entry, "mallory")).toThrow(/already hold 3/);
    victor();
    victor();
    const again = allowance.take(entry, "victor");
    for (const give of [again, olga, alice]) give();
  });

  it("9: /metrics is for admins and the scrape token; the token opens nothing else", async () => {
    expect((await call(`${gw.url}/metrics`, { headers: bearer(VIEWER) })).status).toBe(403);
    expect((await call(`${gw.url}/metrics`, { headers: bearer(ADMIN) })).status).toBe(200);
    const scraped = await call(`${gw.url}/metrics`, { headers: bearer(METRICS) });
    expect(scraped.status).toBe(200);
    expect(scraped.body).toContain("camgate_camera_calls_total");
    expect((await call(`${gw.url}/api/v1/cameras`, { headers: bearer(METRICS) })).status).toBe(403);
  });

  it("11: garbage from a client is a 4xx, never a 500, and reaches no camera", async () => {
    const before = control().counters().requests;
    const deep = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    const patch = await call(`${gw.url}/api/v1/cameras/dogs/config/General`, {
      method: "PATCH",
      headers: { ...bearer(ADMIN), "Content-Type": "application/json" },
      body: deep,
    });
    expect([patch.status, patch.body.code]).toEqual([400, "bad-request"]);
    const objects = await call(`${gw.url}/api/v1/cameras/dogs/ptz`, {
      method: "POST",
      headers: { ...bearer(ADMIN), "Content-Type": "application/json" },
      body: `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`,
    });
    expect(objects.status).toBe(400);
    const signed = await call(
      `${gw.url}/api/v1/cameras/dogs/snapshot.jpg?cg_exp=99999999999&cg_user=%E0%A4%A&cg_sig=x`,
    );
    expect(signed.status).toBe(401);
    const json = await call(`${gw.url}/api/v1/cameras/dogs/ptz`, {
      method: "POST",
      headers: { ...bearer(ADMIN), "Content-Type": "application/json" },
      body: '{"action":',
    });
    expect(json.status).toBe(400);
    expect(control().counters().requests).toBe(before);
  });

  it("2: a camera that ignores log paging costs a bounded number of requests, shared by concurrent readers", async () => {
    control().ignoreLogPagination(true);
    try {
      const before = control().counters().requestsByPath["/cgi-bin/log.cgi"] ?? 0;
      const url = `${gw.url}/api/v1/cameras/dogs/logs?from=2000-01-01%2000:00:00&to=2100-01-01%2000:00:00`;
      const answers = await Promise.all([1, 2, 3].map(() => call(url, { headers: bearer(ADMIN) })));
      for (const answer of answers) expect(answer.status).toBe(200);
      const used = (control().counters().requestsByPath["/cgi-bin/log.cgi"] ?? 0) - before;
      // startFind, two identical pages, stopFind: once, for all three readers.
      expect(used).toBe(4);
      const camera = await call(`${gw.url}/api/v1/cameras/dogs`, { headers: bearer(ADMIN) });
      expect(camera.body.logSync.lastCut).toMatch(/same page twice/);
    } finally {
      control().ignoreLogPagination(false);
    }
  });
});

describe("hardening: the camera's credentials", () => {
  it("3: a wrong password costs one failed login at start-up, also across a restart; a fixed one works at once", async () => {
    const emulator = await startEmulator({ profile: "amcrest-ip2m-841b", password: CAMERA_PASSWORD });
    const camera = emulator.cameras[0];
    if (!camera) throw new Error("no camera");
    const storageDir = mkdtempSync(join(tmpdir(), "camgate-auth-"));
    const emulators = new Map([["dogs", camera]]);
    // Every first call at once: the event stream, backups, log sync, and a few requests of our own.
    const start = (password: string) =>
      startTestGateway({
        emulators,
        storageDir,
        cameraPassword: password,
        events: { enabled: true },
        backup: { enabled: true, intervalHours: 0 },
        logSync: { enabled: true, intervalMinutes: 0 },
      });
    try {
      let gw = await start("a-wrong-password");
      const calls = await Promise.all(
        [1, 2, 3, 4, 5].map(() => fetch(`${gw.url}/api/v1/cameras/dogs/time`).then((r) => r.status)),
      );
      expect(calls.every((status) => status === 502)).toBe(true);
      await waitFor(
        () =>
          gw.camgate.cameras.get("dogs")?.session.getHealth().state === "auth-failed" ? true : undefined,
        10_000,
        "auth-failed",
      );
      expect(camera.control.counters().authFailures).toBe(1);
      await gw.close();
      // A restart (a crash loop, say) does not try the refused password again before its backoff ends.
      gw = await start("a-wrong-password");
      await Promise.all([1, 2, 3].map(() => fetch(`${gw.url}/api/v1/cameras/dogs/time`)));
      expect(gw.camgate.cameras.get("dogs")?.session.getHealth().state).toBe("auth-failed");
      await gw.close();
      expect(camera.control.counters().authFailures).toBe(1);
      expect(camera.control.lockedAddresses()).toEqual([]);
      // The owner fixes the password: it is tried at once, not after the remembered backoff.
      gw = await start(CAMERA_PASSWORD);
      expect((await fetch(`${gw.url}/api/v1/cameras/dogs/time`)).status).toBe(200);
      await gw.close();
      expect(camera.control.counters().authFailures).toBe(1);
    } finally {
      await emulator.close();
      await releaseStore(storageDir);
      rmSync(storageDir, { recursive: true, force: true });
    }
  });

  it("12: calls never fail for a race of our own Digest making, on a camera that wants nc to increase", async () => {
    const gw = await startTestGateway({
      cameras: [{ id: "strict", profile: "amcrest-ip2m-841b", emulator: { ncRegression: "stale" } }],
    });
    // The camera handles parallel requests out of order, as its worker threads do.
    gw.cameras.get("strict")?.control.setJitter(5);
    try {
      let background = true;
      const backgroundFailures: string[] = [];
      // Background work beside the user's calls, as the log sync and backups are.
      const noise = (async () => {
        while (background) {
          await Promise.all(
            [1, 2, 3].map(() =>
              gw.camgate.cameras
                .get("strict")
                ?.api.time()
                .catch((error: unknown) => backgroundFailures.push(String(error))),
            ),
          );
        }
      })();
      const failures: number[] = [];
      for (let i = 0; i < 300; i++) {
        const response = await fetch(`${gw.url}/cam/strict/cgi-bin/magicBox.cgi?action=getDeviceType`);
        await response.arrayBuffer();
        if (response.status !== 200) failures.push(response.status);
      }
      background = false;
      await noise;
      expect(failures).toEqual([]);
      expect(backgroundFailures).toEqual([]);
    } finally {
      await gw.close();
    }
  });
});
