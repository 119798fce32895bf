/** Who may do what: credentials, roles, camera visibility, signed URLs, rate limiting, secrets kept out of logs. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword, hashToken } from "../../src/server/auth/secrets.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { httpGet } from "../helpers/http.ts";

const ADMIN_TOKEN = "admin-token-6be1c0";
const OPERATOR_TOKEN = "operator-token-77aa";
const VIEWER_PASSWORD = "viewer pass word";
const SITTER_PASSWORD = "sitter-pw-41";

const json = async (url: string, init: RequestInit = {}) => {
  const response = await fetch(url, init);
  const text = await response.text();
  const isJson = /json/.test(response.headers.get("content-type") ?? "");
  return {
    status: response.status,
    headers: response.headers,
    body: isJson && text ? JSON.parse(text) : text,
  };
};
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});

describe("front door", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b" },
        { id: "front", profile: "amcrest-ipm-723w" },
      ],
      users: [
        { name: "alice", role: "admin", token: hashToken(ADMIN_TOKEN) },
        { name: "olga", role: "operator", token: OPERATOR_TOKEN },
        { name: "victor", role: "viewer", password: hashPassword(VIEWER_PASSWORD) },
        { name: "sitter", role: "viewer", password: SITTER_PASSWORD, cameras: ["dogs"] },
      ],
      server: { authRateLimit: { failures: 50, windowSeconds: 60 } },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const ROUTES: [string, string, unknown?][] = [
    ["GET", "/api/v1/cameras"],
    ["GET", "/api/v1/cameras/dogs"],
    ["GET", "/api/v1/cameras/dogs/snapshot.jpg"],
    ["GET", "/api/v1/cameras/dogs/stream.mjpeg"],
    ["GET", "/api/v1/cameras/dogs/ptz"],
    ["POST", "/api/v1/cameras/dogs/ptz", { action: "stop" }],
    ["GET", "/api/v1/cameras/dogs/config/General"],
    ["PATCH", "/api/v1/cameras/dogs/config/NTP", { Enable: true }],
    ["GET", "/api/v1/cameras/dogs/time"],
    ["POST", "/api/v1/cameras/dogs/reboot"],
    ["GET", "/api/v1/cameras/dogs/logs"],
    ["POST", "/api/v1/signed-urls", { path: "/api/v1/cameras/dogs/snapshot.jpg" }],
    ["GET", "/metrics"],
    ["GET", "/cam/dogs/cgi-bin/magicBox.cgi?action=getDeviceType"],
  ];

  it.each(ROUTES)("refuses anonymous %s %s with 401 and a problem body", async (method, path, body) => {
    const response = await json(`${gw.url}${path}`, {
      method,
      ...(body ? { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } } : {}),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    expect(response.body).toMatchObject({ status: 401, code: "unauthorized" });
    expect(response.headers.get("www-authenticate")).toMatch(/^(Bearer|Basic) realm="camgate"/);
  });

  it("leaves /healthz and the OpenAPI document public", async () => {
    expect((await json(`${gw.url}/healthz`)).body).toMatchObject({ status: "ok" });
    expect((await json(`${gw.url}/api/v1/openapi.json`)).body).toMatchObject({ openapi: "3.1.0" });
  });

  it("accepts a token (plain or sha256-hashed), Basic with a password (plain or scrypt) and Basic with a token", async () => {
    expect((await json(`${gw.url}/api/v1/cameras`, { headers: bearer(ADMIN_TOKEN) })).status).toBe(200);
    expect((await json(`${gw.url}/api/v1/cameras`, { headers: bearer(OPERATOR_TOKEN) })).status).toBe(200);
    expect(
      (await json(`${gw.url}/api/v1/cameras`, { headers: basic("victor", VIEWER_PASSWORD) })).status,
    ).toBe(200);
    expect(
      (await json(`${gw.url}/api/v1/cameras`, { headers: basic("sitter", SITTER_PASSWORD) })).status,
    ).toBe(200);
    expect((await json(`${gw.url}/api/v1/cameras`, { headers: basic("alice", ADMIN_TOKEN) })).status).toBe(
      200,
    );
  });

  it("a viewer cannot move PTZ or change config (403); an operator can move but not change config", async () => {
    const viewer = basic("victor", VIEWER_PASSWORD);
    const ptz = {
      method: "POST",
      body: JSON.stringify({ action: "stop" }),
      headers: { ...viewer, "Content-Type": "application/json" },
    };
    expect((await json(`${gw.url}/api/v1/cameras/dogs/ptz`, ptz)).status).toBe(403);
    const patch = {
      method: "PATCH",
      body: JSON.stringify({ Enable: true }),
      headers: { ...viewer, "Content-Type": "application/json" },
    };
    expect((await json(`${gw.url}/api/v1/cameras/dogs/config/NTP`, patch)).status).toBe(403);
    expect(
      (
        await json(
          `${gw.url}/cam/dogs/cgi-bin/ptz.cgi?action=start&channel=1&code=Left&arg1=0&arg2=1&arg3=0`,
          { headers: viewer },
        )
      ).status,
    ).toBe(403);
    const operator = bearer(OPERATOR_TOKEN);
    expect(
      (
        await json(`${gw.url}/api/v1/cameras/dogs/ptz`, {
          ...ptz,
          headers: { ...operator, "Content-Type": "application/json" },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await json(`${gw.url}/api/v1/cameras/dogs/config/NTP`, {
          ...patch,
          headers: { ...operator, "Content-Type": "application/json" },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await json(`${gw.url}/cam/dogs/cgi-bin/configManager.cgi?action=setConfig&NTP.Enable=true`, {
          headers: operator,
        })
      ).status,
    ).toBe(403);
    expect(
      (await json(`${gw.url}/cam/dogs/cgi-bin/magicBox.cgi?action=reboot`, { headers: operator })).status,
    ).toBe(403);
  });

  it("config sections holding credentials need admin to read, through REST and passthrough", async () => {
    const viewer = basic("victor", VIEWER_PASSWORD);
    expect((await json(`${gw.url}/api/v1/cameras/dogs/config/Email`, { headers: viewer })).status).toBe(403);
    expect((await json(`${gw.url}/api/v1/cameras/dogs/config/General`, { headers: viewer })).status).toBe(
      200,
    );
    expect(
      (
        await json(`${gw.url}/cam/dogs/cgi-bin/configManager.cgi?action=getConfig&name=Email`, {
          headers: viewer,
        })
      ).status,
    ).toBe(403);
    // The firmware decodes the whole query before splitting it: an encoded '&' cannot smuggle a name past us.
    expect(
      (
        await json(`${gw.url}/cam/dogs/cgi-bin/configManager.cgi?action=getConfig%26name%3DEmail`, {
          headers: viewer,
        })
      ).status,
    ).toBe(403);
    expect(
      (await json(`${gw.url}/cam/dogs/cgi-bin/Config.backup?action=All`, { headers: viewer })).status,
    ).toBe(403);
    expect(
      (await json(`${gw.url}/cam/dogs/cgi-bin/Config.backup?action=All`, { headers: bearer(ADMIN_TOKEN) }))
        .status,
    ).toBe(200);
  });

  it("a user limited to one camera cannot see another (404) and does not find it in the list", async () => {
    const sitter = basic("sitter", SITTER_PASSWORD);
    const list = await json(`${gw.url}/api/v1/cameras`, { headers: sitter });
    expect(list.body.cameras.map((c: { id: string }) => c.id)).toEqual(["dogs"]);
    for (const path of [
      "/api/v1/cameras/front",
      "/api/v1/cameras/front/snapshot.jpg",
      "/cam/front/cgi-bin/magicBox.cgi?action=getDeviceType",
    ]) {
      expect((await json(`${gw.url}${path}`, { headers: sitter })).status).toBe(404);
    }
    const mint = await json(`${gw.url}/api/v1/signed-urls`, {
      method: "POST",
      body: JSON.stringify({ path: "/api/v1/cameras/front/snapshot.jpg" }),
      headers: { ...sitter, "Content-Type": "application/json" },
    });
    expect(mint.status).toBe(404);
  });

  it("signed URLs work without credentials for that path only; expired or tampered ones are refused", async () => {
    const mint = await json(`${gw.url}/api/v1/signed-urls`, {
      method: "POST",
      body: JSON.stringify({ path: "/api/v1/cameras/dogs/snapshot.jpg?channel=1", expiresIn: 60 }),
      headers: { ...basic("sitter", SITTER_PASSWORD), "Content-Type": "application/json" },
    });
    expect(mint.status).toBe(201);
    const signed: string = mint.body.path;
    const ok = await fetch(`${gw.url}${signed}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("image/jpeg");
    expect(mint.body.url).toBe(`${gw.url}${signed}`);
    // Tampered: another path, another query, a changed expiry, a changed user.
    const variants = [
      signed.replace("/dogs/snapshot.jpg", "/dogs/stream.mjpeg"),
      signed.replace("channel=1", "channel=2"),
      signed.replace(/cg_exp=(\d+)/, (_, e: string) => `cg_exp=${Number(e) + 100}`),
      signed.replace("cg_user=sitter", "cg_user=alice"),
    ];
    for (const variant of variants) expect((await fetch(`${gw.url}${variant}`)).status).toBe(401);
    const expired = signed.replace(/cg_exp=\d+/, "cg_exp=1000");
    expect((await fetch(`${gw.url}${expired}`)).status).toBe(401);
    // A signed URL is not a credential for anything else, nor can it mint more.
    const other = await fetch(`${gw.url}/api/v1/signed-urls?${signed.split("?")[1]}`, { method: "POST" });
    expect(other.status).toBe(401);
  });

  it("rate-limits failed logins per address with 429 and Retry-After, without exposing credentials in logs", async () => {
    const limited = await startTestGateway({
      users: [{ name: "alice", role: "admin", token: ADMIN_TOKEN }],
      server: { authRateLimit: { failures: 3, windowSeconds: 60 } },
    });
    try {
      for (let i = 0; i < 3; i++)
        expect(
          (await json(`${limited.url}/api/v1/cameras`, { headers: bearer(`wrong-token-${i}`) })).status,
        ).toBe(401);
      const blocked = await json(`${limited.url}/api/v1/cameras`, { headers: bearer(ADMIN_TOKEN) });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
      const logs = limited.logs();
      for (const secret of [ADMIN_TOKEN, "wrong-token-0", CAMERA_PASSWORD])
        expect(logs).not.toContain(secret);
    } finally {
      await limited.close();
    }
  });

  it("never writes credentials or camera passwords to the log", async () => {
    await json(`${gw.url}/api/v1/cameras/dogs`, { headers: basic("victor", VIEWER_PASSWORD) });
    await json(`${gw.url}/cam/dogs/cgi-bin/magicBox.cgi?action=getDeviceType`, {
      headers: bearer(ADMIN_TOKEN),
    });
    const logs = gw.logs();
    for (const secret of [ADMIN_TOKEN, OPERATOR_TOKEN, VIEWER_PASSWORD, SITTER_PASSWORD, CAMERA_PASSWORD])
      expect(logs).not.toContain(secret);
  });

  it("accepts X-Forwarded-User only from a trusted proxy", async () => {
    const trusted = await startTestGateway({
      users: [{ name: "alice", role: "admin", token: ADMIN_TOKEN }],
      server: { trustedProxies: ["127.0.0.1"] },
    });
    const untrusted = await startTestGateway({
      users: [{ name: "alice", role: "admin", token: ADMIN_TOKEN }],
      server: { trustedProxies: ["10.1.2.3"] },
    });
    try {
      expect((await httpGet(`${trusted.url}/api/v1/cameras`, { "X-Forwarded-User": "alice" })).status).toBe(
        200,
      );
      expect((await httpGet(`${trusted.url}/api/v1/cameras`, { "X-Forwarded-User": "mallory" })).status).toBe(
        401,
      );
      expect((await httpGet(`${untrusted.url}/api/v1/cameras`, { "X-Forwarded-User": "alice" })).status).toBe(
        401,
      );
    } finally {
      await Promise.all([trusted.close(), untrusted.close()]);
    }
  });
});
