/**
 * The Digest client against an independent server: Apache httpd with mod_auth_digest, started on a loopback
 * port. The client must authenticate and then reuse the nonce: N calls cost N+1 requests in Apache's log.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { CameraSession } from "../../src/camera/session.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import { findTool, itWithTool } from "../helpers/system-tools.ts";

const APACHE = "/usr/sbin/apache2";
const MODULES = "/usr/lib/apache2/modules";
const locateApache = () => findTool("apache2", [APACHE], ["-v"]);

describe("Digest interop with Apache mod_auth_digest", () => {
  let dir = "";
  let port = 0;
  let apache: ChildProcess | undefined;

  beforeAll(async () => {
    if (!locateApache()) return;
    dir = mkdtempSync(join(tmpdir(), "camgate-apache-"));
    chmodSync(dir, 0o755);
    port = await freePort();
    const realm = "camgate interop";
    const ha1 = createHash("md5").update(`alice:${realm}:wonder land`).digest("hex");
    writeFileSync(join(dir, "htdigest"), `alice:${realm}:${ha1}\n`, { mode: 0o644 });
    writeFileSync(join(dir, "status.txt"), "status=ok\r\n", { mode: 0o644 });
    writeFileSync(
      join(dir, "httpd.conf"),
      [
        `ServerRoot "${dir}"`,
        `Listen 127.0.0.1:${port}`,
        "ServerName 127.0.0.1",
        `LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so`,
        `LoadModule authn_core_module ${MODULES}/mod_authn_core.so`,
        `LoadModule authn_file_module ${MODULES}/mod_authn_file.so`,
        `LoadModule authz_core_module ${MODULES}/mod_authz_core.so`,
        `LoadModule authz_user_module ${MODULES}/mod_authz_user.so`,
        `LoadModule auth_digest_module ${MODULES}/mod_auth_digest.so`,
        "User www-data",
        "Group www-data",
        `PidFile "${dir}/httpd.pid"`,
        `ErrorLog "${dir}/error.log"`,
        'LogFormat "%r %>s" plain',
        `CustomLog "${dir}/access.log" plain`,
        `DocumentRoot "${dir}"`,
        `<Directory "${dir}">`,
        "  AuthType Digest",
        `  AuthName "${realm}"`,
        "  AuthDigestProvider file",
        `  AuthUserFile "${dir}/htdigest"`,
        "  AuthDigestNonceLifetime 300",
        "  Require valid-user",
        "</Directory>",
        "",
      ].join("\n"),
    );
    apache = spawn(APACHE, ["-f", join(dir, "httpd.conf"), "-DFOREGROUND"], { stdio: "ignore" });
    await waitFor(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/status.txt`).catch(() => undefined);
        return response?.status === 401 ? true : undefined;
      },
      15_000,
      "apache to listen",
    );
  });

  afterAll(() => {
    if (apache?.pid) apache.kill("SIGTERM");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  itWithTool(
    "apache2",
    locateApache,
    "authenticates against mod_auth_digest and reuses the nonce (N calls, N+1 requests)",
    async () => {
      const session = new CameraSession({
        id: "apache",
        url: `http://127.0.0.1:${port}`,
        username: "alice",
        password: "wonder land",
      });
      try {
        const before = readFileSync(join(dir, "access.log"), "utf8").split("\n").filter(Boolean).length;
        for (let i = 0; i < 5; i++) {
          const response = await session.request({ target: "/status.txt?call=1&x=%5B1%5D" });
          expect(response.status).toBe(200);
          expect(response.body.toString()).toBe("status=ok\r\n");
        }
        const lines = await waitFor(
          () => {
            const all = readFileSync(join(dir, "access.log"), "utf8")
              .split("\n")
              .filter(Boolean)
              .slice(before);
            return all.length >= 6 ? all : undefined;
          },
          5000,
          "access log lines",
        );
        expect(lines).toEqual([
          "GET /status.txt?call=1&x=%5B1%5D HTTP/1.1 401",
          ...Array.from({ length: 5 }, () => "GET /status.txt?call=1&x=%5B1%5D HTTP/1.1 200"),
        ]);
      } finally {
        await session.close();
      }
    },
  );
});
