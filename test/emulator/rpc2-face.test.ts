/**
 * The emulator's RPC2 face (the camera web UI's JSON-RPC), by the public description of the login and the
 * calls, and with a client camgate did not write: rroller/dahua's DahuaRpc2Client (test/peers/rroller-dahua,
 * Debian's python3 with python3-aiohttp).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { findTool, itWithTool } from "../helpers/system-tools.ts";

const PASSWORD = "rpc2-secret";
const PEER = resolve(import.meta.dirname, "../peers/rroller-dahua/run_rpc2.py");
const running: RunningEmulator[] = [];

/** The peer in its own process, asynchronously: the emulator answering it runs on this event loop. */
function runPeer(python: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) =>
    execFile(python, [PEER, ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? fail(error) : done({ stdout, stderr }),
    ),
  );
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function camera(options: { clock?: () => number } = {}) {
  const emulator = await startEmulator({ profile: "dahua-2024", password: PASSWORD, ...options });
  running.push(emulator);
  return emulator.cameras[0] as NonNullable<(typeof emulator.cameras)[0]>;
}

type Answer = {
  result: boolean;
  params?: Record<string, unknown>;
  error?: { code: number };
  session?: string;
};

function rpc(url: string) {
  let id = 0;
  let session: string | undefined;
  const post = async (path: string, method: string, params?: unknown): Promise<Answer> => {
    const response = await fetch(`${url}${path}`, {
      method: "POST",
      body: JSON.stringify({ method, params, id: ++id, ...(session ? { session } : {}) }),
    });
    return (await response.json()) as Answer;
  };
  return {
    call: (method: string, params?: unknown) => post("/RPC2", method, params),
    /** The two-step login as the web UI's rpcCore.js does it (public clients describe it). */
    async login(user: string, password: string): Promise<Answer> {
      session = undefined;
      const challenge = await post("/RPC2_Login", "global.login", {
        userName: user,
        password: "",
        clientType: "Web3.0",
      });
      session = challenge.session;
      // Locked: no challenge to answer.
      if (challenge.error?.code !== 268632079) return challenge;
      const { realm, random } = challenge.params as { realm: string; random: string };
      const md5 = (s: string) => createHash("md5").update(s).digest("hex").toUpperCase();
      const hash = md5(`${user}:${random}:${md5(`${user}:${realm}:${password}`)}`);
      return post("/RPC2_Login", "global.login", {
        userName: user,
        password: hash,
        clientType: "Web3.0",
        authorityType: "Default",
        passwordType: "Default",
      });
    },
    get session() {
      return session;
    },
  };
}

describe("the emulator's RPC2 face", () => {
  it("logs in in two steps, reads and sets config, answers a multicall, and ends the session at logout", async () => {
    const cam = await camera();
    const client = rpc(cam.url);
    const first = await fetch(`${cam.url}/RPC2_Login`, {
      method: "POST",
      body: JSON.stringify({ method: "global.login", params: { userName: "admin", password: "" }, id: 1 }),
    });
    const challenge = (await first.json()) as Answer;
    expect(challenge).toMatchObject({
      result: false,
      error: { code: 268632079 },
      params: { encryption: "Default" },
    });
    expect((challenge.params as { realm: string }).realm).toBe(cam.realm);
    expect((await client.login("admin", PASSWORD)).result).toBe(true);
    const general = await client.call("configManager.getConfig", { name: "General" });
    expect(general.params?.table).toMatchObject({ MachineName: cam.camera.machineName() });
    const set = await client.call("configManager.setConfig", {
      name: "NTP",
      table: { ...(cam.camera.configValue("NTP") as object), Enable: true },
    });
    expect(set.result).toBe(true);
    expect(cam.camera.configValue("NTP.Enable")).toBe(true);
    const multi = await client.call("system.multicall", [
      { method: "magicBox.getSerialNo", id: 7 },
      { method: "magicBox.getDeviceType", id: 8 },
      { method: "no.suchMethod", id: 9 },
    ]);
    expect(multi.result).toBe(true);
    expect(multi.params).toEqual([
      { id: 7, result: true, params: { sn: cam.serial } },
      { id: 8, result: true, params: { type: "IPC-HDW5831R-ZE" } },
      { id: 9, result: false, error: expect.objectContaining({ code: 268894210 }) },
    ]);
    expect((await client.call("global.logout")).result).toBe(true);
    expect(await client.call("magicBox.getSerialNo")).toMatchObject({
      result: false,
      error: { code: 28763750 },
    });
  });

  it("a wrong password is refused and counts toward the lockout shared with the camera's other doors", async () => {
    const cam = await camera();
    const client = rpc(cam.url);
    const refused = await client.login("admin", "wrong");
    expect(refused).toMatchObject({ result: false, error: { code: 268632071 } });
    for (let i = 0; i < 4; i++) await client.login("admin", "wrong");
    expect(cam.control.counters().authFailures).toBe(5);
    // Locked: RPC2 says so in its own words; the CGI refuses too, the right password included.
    expect(await client.login("admin", PASSWORD)).toMatchObject({
      result: false,
      error: { code: 268632081 },
    });
    const cgi = await fetch(`${cam.url}/cgi-bin/magicBox.cgi?action=getDeviceType`);
    expect(cgi.status).toBe(401);
  });

  it("a session nothing keeps alive ends after its keep-alive time; keepAlive extends it", async () => {
    let now = Date.now();
    const cam = await camera({ clock: () => now });
    const client = rpc(cam.url);
    await client.login("admin", PASSWORD);
    now += 50_000;
    expect((await client.call("global.keepAlive", { timeout: 300, active: true })).params).toEqual({
      timeout: 300,
    });
    now += 200_000;
    expect((await client.call("magicBox.getSerialNo")).result).toBe(true);
    now += 301_000;
    expect(await client.call("magicBox.getSerialNo")).toMatchObject({
      result: false,
      error: { code: 28763750 },
    });
  });

  it("answers garbage with an error, not a crash", async () => {
    const cam = await camera();
    for (const body of ["not json", "{}", "[1,2]", '{"method": 5}'])
      expect((await fetch(`${cam.url}/RPC2`, { method: "POST", body })).status).toBe(400);
    expect((await fetch(`${cam.url}/RPC2`)).status).toBe(405);
  });

  itWithTool(
    "python3 with aiohttp",
    () => findTool("python3+aiohttp", ["/usr/bin/python3"], ["-c", "import aiohttp"]),
    "rroller/dahua's RPC2 client logs in, reads the serial, the name and the time, and logs out",
    async (python) => {
      const cam = await camera();
      const { hostname, port } = new URL(cam.url);
      const run = await runPeer(python, [hostname, port, "admin", PASSWORD]);
      expect(run.stderr).toBe("");
      const out = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(out).toEqual({
        serial: cam.serial,
        name: cam.camera.machineName(),
        time: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
        logout: true,
      });
      expect(cam.camera.rpc2.openSessions).toBe(0);
      const wrong = await runPeer(python, [hostname, port, "admin", "nope"]);
      expect((JSON.parse(wrong.stdout) as { error?: string }).error).toContain("ConnectionError");
    },
  );
});
