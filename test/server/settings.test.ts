/**
 * camgate's settings from the API (what the UI's Cameras and Users pages use): a camera is looked at with one
 * login and then written to camgate.yaml (comments kept, its password in a file of its own, the previous file
 * kept) and started by the reload; a wrong password writes nothing and costs the camera one failed login,
 * never two; users are added with a hashed password, and the last admin stays; viewers may do none of it;
 * no answer carries a secret.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Camgate } from "../../src/app.ts";
import type { EmulatedCameraHandle } from "../../src/emulator/index.ts";
import { type FileGateway, startFileGateway } from "../helpers/file-gateway.ts";
import { CAMERA_PASSWORD, startTestGateway } from "../helpers/gateway.ts";
import { freePort } from "../helpers/http.ts";

const ADMIN = `Basic ${Buffer.from("alice:alice-settings-pw").toString("base64")}`;
const VIEWER = `Basic ${Buffer.from("victor:victor-settings-pw").toString("base64")}`;

let gateway: FileGateway;
let camgate: Camgate;
let file: string;
let dir: string;
let original: string;
let porch: EmulatedCameraHandle;
const answers: string[] = [];

async function call(method: string, path: string, body?: unknown, auth = ADMIN) {
  const response = await fetch(`${camgate.url}${path}`, {
    method,
    headers: { authorization: auth, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  answers.push(text);
  return {
    status: response.status,
    body: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

beforeAll(async () => {
  gateway = await startFileGateway();
  ({ camgate, file, dir, original } = gateway);
  porch = gateway.spare;
});

afterAll(async () => {
  await gateway?.close();
});

describe("settings from the API", () => {
  it("adds a camera: looked at first, written with its password apart and comments kept, and started", async () => {
    const added = await call("POST", "/api/v1/config/cameras", {
      id: "porch",
      name: "Porch",
      url: porch.url,
      username: "admin",
      password: CAMERA_PASSWORD,
      rtspPort: porch.rtspPort,
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      camera: { id: "porch", name: "Porch", url: porch.url, username: "admin" },
      probe: { ok: true, code: "ok", device: { type: "IPC-HDW5831R-ZE" } },
      reload: { added: ["porch"] },
    });
    const text = readFileSync(file, "utf8");
    // The owner's file, as it was, with the camera after it.
    expect(text.startsWith(original)).toBe(true);
    expect(text).toContain("# camgate for the house: edited by hand and from the UI");
    expect(text).toContain("dir: ./data # beside this file");
    expect(text).toContain("  - name: alice # the owner");
    expect(text).toContain("  # The yard camera, wired.");
    expect(text).toContain("password: ${file:camgate-secrets/camera-porch-password}");
    expect(text).not.toContain(`${CAMERA_PASSWORD}\n    passthroughPort`);
    expect(text.split(CAMERA_PASSWORD)).toHaveLength(2); // only the yard's, typed by hand
    const secret = join(dir, "camgate-secrets", "camera-porch-password");
    expect(readFileSync(secret, "utf8")).toBe(CAMERA_PASSWORD);
    expect(statSync(secret).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "camgate-secrets")).mode & 0o777).toBe(0o700);
    expect(readFileSync(`${file}.previous`, "utf8")).not.toContain("porch");
    // Started: its snapshot comes through camgate.
    const snapshot = await fetch(`${camgate.url}/api/v1/cameras/porch/snapshot.jpg`, {
      headers: { authorization: ADMIN },
    });
    expect(snapshot.status).toBe(200);
    expect(snapshot.headers.get("content-type")).toBe("image/jpeg");
  });

  it("a wrong password writes nothing and costs the camera one failed login, however often it is tried", async () => {
    const before = readFileSync(file, "utf8");
    const failures = porch.control.counters().authFailures;
    const wrong = {
      id: "porch2",
      url: porch.url,
      username: "admin",
      password: "not-the-password",
      rtspPort: porch.rtspPort,
    };
    const first = await call("POST", "/api/v1/config/cameras", wrong);
    expect(first.status).toBe(422);
    expect(first.body).toMatchObject({
      code: "camera-probe-failed",
      detail: expect.stringMatching(/^auth-failed: /),
    });
    const second = await call("POST", "/api/v1/config/cameras", wrong);
    expect(second.status).toBe(422);
    expect(porch.control.counters().authFailures).toBe(failures + 1);
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("refuses what the config would refuse, with the field, and a camera id taken", async () => {
    const bad = await call("POST", "/api/v1/config/cameras", {
      id: "Bad Id",
      url: porch.url,
      username: "admin",
      password: "x",
    });
    expect(bad.status).toBe(400);
    const taken = await call("POST", "/api/v1/config/cameras", {
      id: "yard",
      url: porch.url,
      username: "admin",
      password: "x",
      probe: false,
    });
    expect(taken).toMatchObject({ status: 409, body: { code: "conflict" } });
    // A port another camera has: the config's own validation says which line and field, nothing is written.
    const port = await freePort();
    expect((await call("PATCH", "/api/v1/config/cameras/yard", { passthroughPort: port })).status).toBe(200);
    const before = readFileSync(file, "utf8");
    const clash = await call("PATCH", "/api/v1/config/cameras/porch", { passthroughPort: port });
    expect(clash).toMatchObject({ status: 422, body: { code: "invalid-config" } });
    expect(clash.body?.detail).toMatch(
      new RegExp(
        `camgate\\.yaml:\\d+: cameras\\[1\\]\\.passthroughPort: port ${port} is already cameras\\.yard\\.passthroughPort`,
      ),
    );
    expect(readFileSync(file, "utf8")).toBe(before);
    expect((await call("PATCH", "/api/v1/config/cameras/yard", { passthroughPort: null })).status).toBe(200);
    expect(readFileSync(file, "utf8")).not.toContain("passthroughPort");
  });

  it("renames a camera in the file and in camgate", async () => {
    const renamed = await call("PATCH", "/api/v1/config/cameras/porch", { name: "Front porch" });
    expect(renamed).toMatchObject({ status: 200, body: { camera: { name: "Front porch" }, probe: null } });
    expect(readFileSync(file, "utf8")).toContain("name: Front porch");
    const listed = await call("GET", "/api/v1/cameras");
    expect(JSON.stringify(listed.body)).toContain("Front porch");
  });

  it("users: added with a hashed password, signed in, the last admin kept, removed", async () => {
    const olga = await call("PUT", "/api/v1/config/users/olga", {
      role: "operator",
      password: "olga-settings-pw",
      cameras: ["porch"],
    });
    expect(olga).toMatchObject({
      status: 200,
      body: {
        outcome: "added",
        user: { name: "olga", role: "operator", cameras: ["porch"], signsInWith: ["password"] },
      },
    });
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("olga-settings-pw");
    expect(text).toMatch(/name: olga\n\s+role: operator\n\s+password: scrypt:/);
    const asOlga = `Basic ${Buffer.from("olga:olga-settings-pw").toString("base64")}`;
    const seen = await call("GET", "/api/v1/cameras", undefined, asOlga);
    expect(seen.status).toBe(200);
    expect(JSON.stringify(seen.body)).toContain("porch");
    expect(JSON.stringify(seen.body)).not.toContain('"yard"');
    // The last admin stays one, and nobody removes themself.
    expect(await call("PUT", "/api/v1/config/users/alice", { role: "viewer" })).toMatchObject({
      status: 409,
      body: { code: "conflict" },
    });
    expect(await call("DELETE", "/api/v1/config/users/alice")).toMatchObject({ status: 409 });
    expect(await call("PUT", "/api/v1/config/users/nobody", { role: "viewer" })).toMatchObject({
      status: 400,
    });
    expect((await call("DELETE", "/api/v1/config/users/olga")).status).toBe(200);
    expect((await call("GET", "/api/v1/cameras", undefined, asOlga)).status).toBe(401);
    const users = await call("GET", "/api/v1/config/users");
    expect(users.body?.users).toEqual([
      { name: "alice", role: "admin", cameras: ["*"], signsInWith: ["password"] },
      { name: "victor", role: "viewer", cameras: ["*"], signsInWith: ["password"] },
    ]);
  });

  it("a viewer may do none of it", async () => {
    for (const [method, path] of [
      ["GET", "/api/v1/config/cameras"],
      ["POST", "/api/v1/config/cameras"],
      ["DELETE", "/api/v1/config/cameras/porch"],
      ["GET", "/api/v1/config/users"],
      ["PUT", "/api/v1/config/users/victor"],
      ["GET", "/api/v1/discovery"],
    ] as const) {
      const answer = await call(
        method,
        path,
        method === "GET" || method === "DELETE" ? undefined : {},
        VIEWER,
      );
      expect(answer.status, `${method} ${path}`).toBe(403);
    }
  });

  it("removes a camera from the file and from camgate", async () => {
    expect((await call("DELETE", "/api/v1/config/cameras/porch")).status).toBe(200);
    expect(readFileSync(file, "utf8")).not.toContain("id: porch");
    const cameras = await call("GET", "/api/v1/config/cameras");
    expect(cameras.body).toMatchObject({ editable: true, cameras: [{ id: "yard" }] });
    expect((await call("GET", "/api/v1/cameras/porch")).status).toBe(404);
  });

  it("no answer carried a secret", () => {
    expect(answers.length).toBeGreaterThan(15);
    for (const answer of answers) {
      expect(answer).not.toContain(CAMERA_PASSWORD);
      expect(answer).not.toContain("settings-pw");
      expect(answer).not.toContain("scrypt:");
    }
  });
});

describe("settings without a config file (the demo)", () => {
  it("says how to get one", async () => {
    const gateway = await startTestGateway({
      users: [{ name: "alice", role: "admin", password: "alice-pw-1234" }],
    });
    try {
      const answer = await fetch(`${gateway.url}/api/v1/config/users/bob`, {
        method: "PUT",
        headers: {
          authorization: `Basic ${Buffer.from("alice:alice-pw-1234").toString("base64")}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ role: "viewer", password: "bob-password" }),
      });
      expect(answer.status).toBe(409);
      expect(((await answer.json()) as { detail: string }).detail).toContain("-c camgate.yaml");
    } finally {
      await gateway.close();
    }
  });
});
