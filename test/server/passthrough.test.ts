/** The CGI passthrough: byte-identical answers, one round trip per call, the budget, and no open proxy. */
import { execFile } from "node:child_process";
import { once } from "node:events";
import { connect, createServer, type Server } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestGet } from "../helpers/digest-client.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, httpGet } from "../helpers/http.ts";
import { findTool, itWithTool, pythonWithRequests } from "../helpers/system-tools.ts";

const run = promisify(execFile);
const TOKEN = "passthrough-token-3c1";
const auth = { Authorization: `Bearer ${TOKEN}` };

/** Sends raw bytes and returns the raw answer (for request targets no HTTP client would send). */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(request));
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
    });
    socket.on("end", () => resolve(data));
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
  });
}

describe("CGI passthrough", () => {
  let gw: TestGateway;
  let sentinel: Server;
  let sentinelPort = 0;
  let sentinelConnections = 0;
  beforeAll(async () => {
    sentinel = createServer((socket) => {
      sentinelConnections++;
      socket.destroy();
    });
    sentinel.listen(0, "127.0.0.1");
    await once(sentinel, "listening");
    sentinelPort = (sentinel.address() as { port: number }).port;
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b", config: { passthroughPort: await freePort() } },
        { id: "modern", profile: "dahua-2024", config: { maxConnections: 3 } },
      ],
      users: [
        { name: "alice", role: "admin", token: TOKEN },
        { name: "amcrest", role: "admin", password: "client-pass" },
      ],
    });
  });
  afterAll(async () => {
    await gw?.close();
    sentinel?.close();
  });

  const dogs = () => gw.cameras.get("dogs")?.control;
  const modern = () => gw.cameras.get("modern")?.control;
  const direct = async (camera: "dogs" | "modern", target: string) =>
    (await digestGet(gw.cameras.get(camera)?.url ?? "", target, { password: CAMERA_PASSWORD })).response;

  it.each([
    ["dogs", "/cgi-bin/magicBox.cgi?action=getSystemInfo"],
    ["dogs", "/cgi-bin/configManager.cgi?action=getConfig&name=Encode"],
    ["dogs", "/cgi-bin/magicBox.cgi?action=getNothing"],
    ["modern", "/cgi-bin/magicBox.cgi?action=getNothing"],
    ["dogs", "/cgi-bin/mediaFileFind.cgi?action=factory.close&object=1"],
    ["dogs", "/cgi-bin/Config.backup?action=All"],
  ] as const)("%s %s: the same status, headers and bytes as the camera", async (camera, target) => {
    const expected = await direct(camera, target);
    const viaGateway = await httpGet(`${gw.url}/cam/${camera}${target}`, auth);
    expect(viaGateway.status).toBe(expected.status);
    expect(viaGateway.body.equals(expected.body)).toBe(true);
    expect(viaGateway.headers["content-type"]).toBe(expected.headers["content-type"]);
    expect(viaGateway.headers["content-length"]).toBe(expected.headers["content-length"]);
    expect(viaGateway.headers["content-disposition"]).toBe(expected.headers["content-disposition"]);
    expect(viaGateway.headers["www-authenticate"]).toBeUndefined();
  });

  it("JPEG snapshots come back byte for byte (frozen encoder, so both reads see the same picture)", async () => {
    dogs()?.freezeFrames(true);
    try {
      await direct("dogs", "/cgi-bin/snapshot.cgi?channel=1");
      const expected = await direct("dogs", "/cgi-bin/snapshot.cgi?channel=1");
      const viaGateway = await httpGet(`${gw.url}/cam/dogs/cgi-bin/snapshot.cgi?channel=1`, auth);
      expect(viaGateway.headers["content-type"]).toBe("image/jpeg");
      expect(viaGateway.body.equals(expected.body)).toBe(true);
    } finally {
      dogs()?.freezeFrames(false);
    }
  });

  it("forwards the query byte for byte, bracket encodings included", async () => {
    const before = dogs()?.counters().requestsByPath["/cgi-bin/eventManager.cgi"] ?? 0;
    const response = await httpGet(
      `${gw.url}/cam/dogs/cgi-bin/eventManager.cgi?action=getEventIndexes&code=%5BVideoMotion%5D`,
      auth,
    );
    expect(response.status).toBe(400);
    expect(dogs()?.counters().requestsByPath["/cgi-bin/eventManager.cgi"]).toBe(before + 1);
    const set = await httpGet(
      `${gw.url}/cam/dogs/cgi-bin/configManager.cgi?action=setConfig&ChannelTitle[0].Name=Crate%20one`,
      auth,
    );
    expect(set.text).toBe("OK\r\n");
    expect(dogs()?.config("ChannelTitle[0].Name")).toBe("Crate one");
  });

  it("N calls through the gateway cost N+1 camera requests", async () => {
    await httpGet(`${gw.url}/cam/modern/cgi-bin/magicBox.cgi?action=getDeviceType`, auth);
    modern()?.resetCounters();
    for (let i = 0; i < 10; i++)
      expect(
        (await httpGet(`${gw.url}/cam/modern/cgi-bin/magicBox.cgi?action=getDeviceType`, auth)).status,
      ).toBe(200);
    expect(modern()?.counters().requests).toBe(10);
    expect(modern()?.counters().challenges).toBe(0);
  });

  it("holds the budget under 50 parallel clients", async () => {
    modern()?.resetCounters();
    modern()?.setResponseDelay(20);
    try {
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          httpGet(`${gw.url}/cam/modern/cgi-bin/magicBox.cgi?action=getSerialNo`, auth),
        ),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(modern()?.counters().peakConnections).toBeLessThanOrEqual(3);
      expect(modern()?.counters().authFailures).toBe(0);
    } finally {
      modern()?.setResponseDelay(0);
    }
  });

  it("streams POST bodies to the camera (answered as the firmware does)", async () => {
    const response = await fetch(
      `${gw.url}/cam/dogs/cgi-bin/audio.cgi?action=postAudio&httptype=singlepart&channel=1`,
      {
        method: "POST",
        headers: { ...auth, "Content-Type": "Audio/G.711A" },
        body: Buffer.alloc(4000, 0xd5),
      },
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("OK\r\n");
    // The body arrived at the camera's speaker whole (a Content-Length body; the firmware refuses chunked).
    const talk = gw.cameras.get("dogs")?.control.talks().at(-1);
    expect(talk?.codec).toBe("G.711A");
    expect(talk?.bytes).toEqual(Buffer.alloc(4000, 0xd5));
  });

  it("answers 400 to CR, LF or NUL in the target, raw or encoded, and to dot segments", async () => {
    const port = Number(new URL(gw.url).port);
    const before = dogs()?.counters().requests ?? 0;
    for (const target of [
      "/cam/dogs/cgi-bin/magicBox.cgi?action=getDeviceType%0d%0aX-Injected:%201",
      "/cam/dogs/cgi-bin/magicBox.cgi?action=get%00DeviceType",
      "/cam/dogs/cgi-bin/../cgi-bin/magicBox.cgi?action=getDeviceType",
      "/cam/dogs/cgi-bin/%2e%2e/magicBox.cgi?action=getDeviceType",
    ]) {
      const answer = await rawRequest(
        port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
    }
    const raw = await rawRequest(
      port,
      `GET /cam/dogs/cgi-bin/magicBox.cgi?a=1\rX: y HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(dogs()?.counters().requests).toBe(before);
  });

  it("no request makes the gateway contact an address that is not a configured camera", async () => {
    const port = Number(new URL(gw.url).port);
    const tries = [
      `GET http://127.0.0.1:${sentinelPort}/cgi-bin/magicBox.cgi?action=getDeviceType HTTP/1.1\r\nHost: 127.0.0.1:${sentinelPort}\r\n`,
      `GET /cam/dogs/cgi-bin/magicBox.cgi?action=getDeviceType HTTP/1.1\r\nHost: 127.0.0.1:${sentinelPort}\r\nX-Forwarded-Host: 127.0.0.1:${sentinelPort}\r\n`,
      `GET /cam/127.0.0.1:${sentinelPort}/cgi-bin/magicBox.cgi HTTP/1.1\r\nHost: x\r\n`,
      `GET /cam/dogs@127.0.0.1:${sentinelPort}/cgi-bin/magicBox.cgi HTTP/1.1\r\nHost: x\r\n`,
      `GET //127.0.0.1:${sentinelPort}/cgi-bin/magicBox.cgi HTTP/1.1\r\nHost: x\r\n`,
      `GET /cam/dogs/cgi-bin/RPC_Loadfile//127.0.0.1:${sentinelPort}/x HTTP/1.1\r\nHost: x\r\n`,
    ];
    for (const head of tries) {
      await rawRequest(port, `${head}Authorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
    }
    const signed = await fetch(`${gw.url}/api/v1/signed-urls`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ path: `/cam/127.0.0.1:${sentinelPort}/cgi-bin/x.cgi` }),
    });
    expect(signed.status).toBe(404);
    expect(sentinelConnections).toBe(0);
  });

  it("a camera that is down answers 502 with a problem body", async () => {
    const down = await startTestGateway({ cameras: [{ id: "gone", profile: "amcrest-ipm-723w" }] });
    try {
      await down.cameras.get("gone")?.control.stopListening();
      const response = await httpGet(`${down.url}/cam/gone/cgi-bin/magicBox.cgi?action=getDeviceType`);
      expect(response.status).toBe(502);
      expect(response.headers["content-type"]).toContain("application/problem+json");
      expect(JSON.parse(response.text)).toMatchObject({ code: "unreachable", camera: "gone" });
    } finally {
      await down.close();
    }
  });

  itWithTool(
    "curl",
    () => findTool("curl"),
    "a client that sends Basic first (as python-amcrest does) works on the camera's passthroughPort",
    async () => {
      const base = gw.camgate.passthroughUrls.dogs;
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const { stdout } = await run("curl", [
        "-s",
        "--basic",
        "-u",
        "amcrest:client-pass",
        `${base}/cgi-bin/magicBox.cgi?action=getDeviceType`,
      ]);
      expect(stdout).toBe("type=IP2M-841B\r\n");
      const refused = await run("curl", ["-s", "-i", `${base}/cgi-bin/magicBox.cgi?action=getDeviceType`]);
      expect(refused.stdout).toMatch(/^HTTP\/1\.1 401/);
      expect(refused.stdout).toMatch(/www-authenticate: Basic realm="camgate"/i);
    },
  );

  itWithTool(
    "python3 with requests",
    pythonWithRequests,
    "Python requests with Basic auth reads the camera through the passthroughPort",
    async (python) => {
      const script = [
        "import sys, requests",
        "r = requests.get(sys.argv[1] + '/cgi-bin/magicBox.cgi?action=getSerialNo', auth=('amcrest', 'client-pass'), timeout=10)",
        "print(r.status_code, r.text.strip())",
      ].join("\n");
      const { stdout } = await run(python, ["-c", script, gw.camgate.passthroughUrls.dogs ?? ""]);
      expect(stdout.trim()).toBe(`200 sn=${gw.cameras.get("dogs")?.serial}`);
    },
  );
});
