/** TLS and client certificates (mTLS), with certificates made by the openssl CLI for this test. */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { runHealthcheck } from "../../src/cli/healthcheck.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { isKeyframeFragment, openLive } from "../helpers/live.ts";
import { readStamps, runTool } from "../helpers/rtsp.ts";
import { findTool, itWithTool } from "../helpers/system-tools.ts";

const run = promisify(execFile);
const locateOpenssl = () => findTool("openssl", ["openssl"], ["version"]);

interface Pki {
  ca: Buffer;
  serverCert: string;
  serverKey: string;
  clientCaFile: string;
  kiosk: { cert: Buffer; key: Buffer };
  rogue: { cert: Buffer; key: Buffer };
}

async function makePki(dir: string): Promise<Pki> {
  const ssl = (...args: string[]) => run("openssl", args, { cwd: dir });
  await ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=camgate test CA",
  );
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await ssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  );
  await ssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  );
  await ssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "kiosk.key",
    "-out",
    "kiosk.csr",
    "-subj",
    "/CN=kiosk/O=Home",
  );
  await ssl(
    "x509",
    "-req",
    "-in",
    "kiosk.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "kiosk.pem",
    "-days",
    "2",
  );
  await ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "rogue.key",
    "-out",
    "rogue.pem",
    "-days",
    "2",
    "-subj",
    "/CN=kiosk",
  );
  const read = (name: string) => readFileSync(join(dir, name));
  return {
    ca: read("ca.pem"),
    serverCert: join(dir, "server.pem"),
    serverKey: join(dir, "server.key"),
    clientCaFile: join(dir, "ca.pem"),
    kiosk: { cert: read("kiosk.pem"), key: read("kiosk.key") },
    rogue: { cert: read("rogue.pem"), key: read("rogue.key") },
  };
}

function get(
  url: string,
  options: { ca: Buffer; cert?: Buffer; key?: Buffer; headers?: Record<string, string> },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca: options.ca, cert: options.cert, key: options.key, headers: options.headers, agent: false },
      (res) => {
        let body = "";
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("TLS and client certificates", () => {
  let dir = "";
  let pki: Pki | undefined;
  let optional: TestGateway | undefined;
  let required: TestGateway | undefined;

  beforeAll(async () => {
    if (!locateOpenssl()) return;
    dir = mkdtempSync(join(tmpdir(), "camgate-pki-"));
    pki = await makePki(dir);
    const users = [
      { name: "kiosk", role: "viewer", clientCertSubject: "CN=kiosk, O=Home" },
      { name: "alice", role: "admin", password: "alice-pw" },
    ];
    optional = await startTestGateway({
      users,
      server: { tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.clientCaFile } },
    });
    required = await startTestGateway({
      users,
      server: {
        tls: {
          cert: pki.serverCert,
          key: pki.serverKey,
          clientCa: pki.clientCaFile,
          requireClientCert: true,
        },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await optional?.close();
    await required?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  itWithTool(
    "openssl",
    locateOpenssl,
    "camgate healthcheck asks /healthz where the config says, over TLS when it has server.tls",
    async () => {
      if (!pki || !optional) throw new Error("setup failed");
      const port = new URL(optional.url).port;
      const file = join(dir, "health.yaml");
      const lines: string[] = [];
      const out = { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream;
      writeFileSync(
        file,
        `server: { listen: "0.0.0.0:${port}", tls: { cert: ${JSON.stringify(pki.serverCert)}, key: ${JSON.stringify(pki.serverKey)} } }\nusers: [{ name: a, role: admin, token: t }]\n`,
      );
      expect(await runHealthcheck({ config: file }, out)).toBe(true);
      expect(lines.join("")).toContain(`https://127.0.0.1:${port}/healthz: ok`);
      // The same listener asked in plain HTTP (a config without tls) does not pass.
      writeFileSync(file, `server: { listen: "127.0.0.1:${port}" }\n`);
      expect(await runHealthcheck({ config: file }, out)).toBe(false);
    },
  );

  itWithTool(
    "openssl",
    locateOpenssl,
    "maps a verified client certificate to its user and role",
    async () => {
      if (!pki || !optional) throw new Error("setup failed");
      expect(optional.url).toMatch(/^https:/);
      const list = await get(`${optional.url}/api/v1/cameras`, { ca: pki.ca, ...pki.kiosk });
      expect(list.status).toBe(200);
      const ptz = await get(`${optional.url}/api/v1/cameras/dogs/config/Email`, { ca: pki.ca, ...pki.kiosk });
      expect(ptz.status).toBe(403);
    },
  );

  itWithTool(
    "openssl",
    locateOpenssl,
    "refuses a client without a certificate, or with one the CA did not sign",
    async () => {
      if (!pki || !optional) throw new Error("setup failed");
      expect((await get(`${optional.url}/api/v1/cameras`, { ca: pki.ca })).status).toBe(401);
      expect((await get(`${optional.url}/api/v1/cameras`, { ca: pki.ca, ...pki.rogue })).status).toBe(401);
      // Basic over TLS still works for other users.
      const basic = `Basic ${Buffer.from("alice:alice-pw").toString("base64")}`;
      expect(
        (await get(`${optional.url}/api/v1/cameras`, { ca: pki.ca, headers: { Authorization: basic } }))
          .status,
      ).toBe(200);
    },
  );

  itWithTool(
    "openssl",
    locateOpenssl,
    "with requireClientCert, the TLS handshake itself fails without a valid certificate",
    async () => {
      if (!pki || !required) throw new Error("setup failed");
      await expect(get(`${required.url}/api/v1/cameras`, { ca: pki.ca })).rejects.toThrow();
      await expect(get(`${required.url}/api/v1/cameras`, { ca: pki.ca, ...pki.rogue })).rejects.toThrow();
      expect((await get(`${required.url}/api/v1/cameras`, { ca: pki.ca, ...pki.kiosk })).status).toBe(200);
    },
  );

  itWithTool(
    "openssl",
    locateOpenssl,
    "MSE over wss: the live socket through TLS carries the init segment and keyframe-first fragments",
    async () => {
      if (!pki || !optional) throw new Error("setup failed");
      const basic = `Basic ${Buffer.from("alice:alice-pw").toString("base64")}`;
      const client = await openLive(`${optional.url}/api/v1/cameras/dogs/live`, {
        headers: { Authorization: basic },
        ca: pki.ca,
      });
      try {
        await waitFor(() => (client.binaries.length >= 10 ? true : undefined), 15_000, "fragments over TLS");
        expect(client.binaries[0]?.toString("latin1", 4, 8)).toBe("ftyp");
        expect(isKeyframeFragment(client.binaries[1] as Buffer)).toBe(true);
        const stamps = readStamps(Buffer.concat(client.binaries)).map((s) => s.sequence);
        expect(stamps).toEqual(stamps.map((_, i) => (stamps[0] as number) + i));
      } finally {
        client.close();
      }
    },
  );

  itWithTool(
    "ffprobe",
    () => (locateOpenssl() ? locateFfprobe() : undefined),
    "RTSPS: camgate's RTSP server over TLS with the gateway's certificate, read by ffprobe",
    async () => {
      if (!pki) throw new Error("setup failed");
      const rtsps = await startTestGateway({
        users: [{ name: "alice", role: "viewer", password: "alice-pw" }],
        server: {
          tls: { cert: pki.serverCert, key: pki.serverKey },
          rtsp: { listen: "127.0.0.1:0", tls: true },
        },
      });
      try {
        expect(rtsps.camgate.rtspUrl).toMatch(/^rtsps:\/\/127\.0\.0\.1:\d+$/);
        const probe = await runTool("ffprobe", [
          "-v",
          "error",
          "-select_streams",
          "v:0",
          "-show_entries",
          "stream=codec_name,width,height",
          "-of",
          "csv=p=0",
          `${rtsps.camgate.rtspUrl?.replace("rtsps://", "rtsps://alice:alice-pw@")}/dogs`,
        ]);
        expect(probe.stderr).toBe("");
        expect(probe.stdout.toString().trim()).toBe("h264,640,360");
        // Plain RTSP on the RTSPS port gets no answer a client could use.
        const plain = await runTool("ffprobe", [
          "-v",
          "error",
          "-rw_timeout",
          "3000000",
          `${rtsps.camgate.rtspUrl?.replace("rtsps://", "rtsp://alice:alice-pw@")}/dogs`,
        ]);
        expect(plain.code).not.toBe(0);
      } finally {
        await rtsps.close();
      }
    },
  );
});
