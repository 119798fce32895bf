/**
 * The camera web UI's RPC2 behind camgate's login, on the camera's passthrough port: camgate's own challenge
 * and tokens, roles judged per method and per inner call of a multicall, one camgate session with the camera
 * logged in with the camera's credentials, and the camera's password and session never in an answer. With
 * camgate's own client here and rroller/dahua's DahuaRpc2Client (a client camgate did not write).
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpc2LoginHash } from "../../src/protocol/rpc2.ts";
import { redactRpc2 } from "../../src/server/auth/rpc2-roles.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort } from "../helpers/http.ts";
import { findTool, itWithTool } from "../helpers/system-tools.ts";

const PEER = resolve(import.meta.dirname, "../peers/rroller-dahua/run_rpc2.py");
let gateway: TestGateway;
let port: number;
const bodies: string[] = [];

type Answer = {
  result: boolean;
  params?: unknown;
  error?: { code: number; message: string };
  session?: string;
};

function client(user: string, password: string) {
  let id = 0;
  let session: string | undefined;
  const post = async (path: string, method: string, params?: unknown): Promise<Answer> => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method, params, id: ++id, ...(session ? { session } : {}) }),
    });
    const text = await response.text();
    bodies.push(text);
    return JSON.parse(text) as Answer;
  };
  return {
    async login(): Promise<Answer> {
      session = undefined;
      const challenge = await post("/RPC2_Login", "global.login", {
        userName: user,
        password: "",
        clientType: "Web3.0",
      });
      if (challenge.error?.code !== 268632079) return challenge;
      session = challenge.session;
      const { realm, random } = challenge.params as { realm: string; random: string };
      const answer = await post("/RPC2_Login", "global.login", {
        userName: user,
        password: rpc2LoginHash(user, realm, random, password),
        clientType: "Web3.0",
        authorityType: "Default",
        passwordType: "Default",
      });
      session = answer.session;
      return answer;
    },
    call: (method: string, params?: unknown) => post("/RPC2", method, params),
  };
}

const den = () => gateway.cameras.get("den");

beforeAll(async () => {
  port = await freePort();
  gateway = await startTestGateway({
    cameras: [{ id: "den", profile: "dahua-2024", config: { passthroughPort: port } }],
    users: [
      { name: "alice", role: "admin", password: "alice-ui-pw" },
      { name: "oscar", role: "operator", password: "oscar-ui-pw" },
      { name: "victor", role: "viewer", password: "victor-ui-pw" },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
});

describe("the camera web UI's RPC2 behind camgate", () => {
  it("an admin logs in to camgate's challenge, reads and sets config on the camera", async () => {
    const first = await client("alice", "alice-ui-pw");
    const login = await first.login();
    expect(login.result).toBe(true);
    // camgate's realm, not the camera's (which names its serial).
    expect(bodies.some((b) => b.includes("Login to camgate (den)"))).toBe(true);
    const general = await first.call("configManager.getConfig", { name: "General" });
    expect(general.params).toMatchObject({ table: { MachineName: den()?.camera.machineName() } });
    const ntp = den()?.camera.configValue("NTP") as object;
    expect(
      (await first.call("configManager.setConfig", { name: "NTP", table: { ...ntp, Enable: true } })).result,
    ).toBe(true);
    expect(den()?.camera.configValue("NTP.Enable")).toBe(true);
    // camgate logged in to the camera's RPC2 once, with the camera's credentials.
    expect(den()?.camera.rpc2.counters.logins).toBe(1);
  });

  it("a viewer reads what viewers may, and is refused the rest, a multicall judged call by call", async () => {
    const viewer = client("victor", "victor-ui-pw");
    expect((await viewer.login()).result).toBe(true);
    expect((await viewer.call("magicBox.getSerialNo")).params).toEqual({ sn: den()?.serial });
    const name = den()?.camera.machineName();
    const refused = await viewer.call("configManager.setConfig", {
      name: "General",
      table: { MachineName: "pwned" },
    });
    expect(refused).toMatchObject({
      result: false,
      error: { message: expect.stringContaining("needs the admin role") },
    });
    expect(den()?.camera.machineName()).toBe(name);
    expect((await viewer.call("configManager.getConfig", { name: "Email" })).result).toBe(false);
    expect((await viewer.call("userManager.getUserInfoAll")).result).toBe(false);
    const mixed = await viewer.call("system.multicall", [
      { method: "magicBox.getSerialNo", id: 1 },
      {
        method: "configManager.setConfig",
        params: { name: "General", table: { MachineName: "pwned" } },
        id: 2,
      },
    ]);
    expect(mixed.result).toBe(false);
    expect(den()?.camera.machineName()).toBe(name);
    const reads = await viewer.call("system.multicall", [
      { method: "magicBox.getSerialNo", id: 1 },
      { method: "configManager.getConfig", params: { name: "General" }, id: 2 },
    ]);
    expect(reads.result).toBe(true);
    // An encrypted call (newer firmware's system.multiSec) cannot be judged: refused, saying so.
    const sealed = await viewer.call("system.multiSec", { salt: "x", cipher: "RPAC-256", content: "y" });
    expect(sealed).toMatchObject({ result: false, error: { message: expect.stringContaining("encrypted") } });
    // An operator moves PTZ but sets no config.
    const operator = client("oscar", "oscar-ui-pw");
    await operator.login();
    expect((await operator.call("configManager.setConfig", { name: "NTP", table: {} })).result).toBe(false);
  });

  it("a wrong password is refused by camgate without the camera seeing a login; a logout ends only that token", async () => {
    const failuresBefore = den()?.control.counters().authFailures ?? 0;
    const wrong = client("alice", "not-it");
    expect(await wrong.login()).toMatchObject({ result: false, error: { code: 268632071 } });
    expect(await client("mallory", "x").login()).toMatchObject({ result: false, error: { code: 268632071 } });
    expect(den()?.control.counters().authFailures).toBe(failuresBefore);
    const one = client("alice", "alice-ui-pw");
    const two = client("alice", "alice-ui-pw");
    await one.login();
    await two.login();
    expect((await one.call("global.logout")).result).toBe(true);
    expect(await one.call("magicBox.getSerialNo")).toMatchObject({
      result: false,
      error: { code: 28763750 },
    });
    expect((await two.call("magicBox.getSerialNo")).result).toBe(true);
  });

  it("the camera's password never appears in an answer, nor in camgate's log", () => {
    expect(bodies.length).toBeGreaterThan(10);
    for (const body of bodies) expect(body).not.toContain(CAMERA_PASSWORD);
    expect(gateway.logs()).toContain("camera UI call");
    expect(gateway.logs()).not.toContain(CAMERA_PASSWORD);
  });

  it("whatever a caller posts, each RPC2 door answers with JSON, never a crash, and nothing reaches the camera", async () => {
    const before = den()?.camera.rpc2.counters.calls ?? 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.json(), fc.string()),
        fc.constantFrom("/RPC2", "/RPC2_Login"),
        async (body, path) => {
          const response = await fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", body });
          expect([200, 400]).toContain(response.status);
          const answer = (await response.json()) as { result?: unknown };
          // Without a token of camgate's nothing is answered true, except a login's challenge step (false too).
          expect(answer.result === true).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
    expect(den()?.camera.rpc2.counters.calls).toBe(before);
  });

  it("secrets in a config answer are redacted for non-admins", () => {
    expect(redactRpc2({ UserName: "cam", Password: "mail-secret", Port: 25 }, "Email")).toEqual({
      UserName: "cam",
      Password: "***redacted by camgate***",
      Port: 25,
    });
  });

  itWithTool(
    "python3 with aiohttp",
    () => findTool("python3+aiohttp", ["/usr/bin/python3"], ["-c", "import aiohttp"]),
    "rroller/dahua's RPC2 client logs in to camgate as a camgate user and reads through it",
    async (python) => {
      const run = await new Promise<{ stdout: string; stderr: string }>((done, fail) =>
        execFile(
          python,
          [PEER, "127.0.0.1", String(port), "alice", "alice-ui-pw"],
          { timeout: 30_000 },
          (error, stdout, stderr) => (error ? fail(error) : done({ stdout, stderr })),
        ),
      );
      expect(run.stderr).toBe("");
      expect(JSON.parse(run.stdout)).toEqual({
        serial: den()?.serial,
        name: den()?.camera.machineName(),
        time: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
        logout: true,
      });
    },
  );
});
