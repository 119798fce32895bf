/**
 * `camgate config check` as the service's own user (systemd's `ExecStartPre=` of the unit runs it so): a TLS
 * key only root can read, and a storage directory the user cannot write, are said with the field, the file
 * and the uid, instead of an "ok" followed by a failed start. Run as an unprivileged uid with setpriv (root
 * only: CI runs as root).
 */
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");
const NOBODY = 65534;
const root = typeof process.getuid === "function" && process.getuid() === 0;
/** The checkout must be readable by an unprivileged user (not so under a home directory of mode 0700). */
const readable =
  root &&
  spawnSync(
    "setpriv",
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, BIN, "--version"],
    { stdio: "ignore", timeout: 20_000 },
  ).status === 0;
const why = !root
  ? "needs root to switch users"
  : !readable
    ? "the checkout is not readable by an unprivileged user"
    : "";

describe.skipIf(why !== "")(`config check as the service user${why ? ` [skipped: ${why}]` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "camgate-service-user-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function checkAs(uid: number, file: string) {
    try {
      const { stdout } = await run(
        "setpriv",
        [
          `--reuid=${uid}`,
          `--regid=${uid}`,
          "--clear-groups",
          process.execPath,
          BIN,
          "config",
          "check",
          "-c",
          file,
        ],
        { cwd: dir },
      );
      return { code: 0, output: stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, output: `${failed.stdout}${failed.stderr}` };
    }
  }

  it("says which file the service user cannot read or write, and passes once it can", async () => {
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "tls.crt"), "not really a certificate\n", { mode: 0o644 });
    writeFileSync(join(dir, "tls.key"), "not really a key\n", { mode: 0o600 }); // root's alone
    mkdirSync(join(dir, "data"), { mode: 0o700 }); // root's alone
    const file = join(dir, "camgate.yaml");
    writeFileSync(
      file,
      "server:\n  listen: 127.0.0.1:0\n  tls:\n    cert: tls.crt\n    key: tls.key\nstorage:\n  dir: data\n",
      { mode: 0o644 },
    );
    const refused = await checkAs(NOBODY, file);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain(`server.tls.key: cannot read tls.key (EACCES) as uid ${NOBODY}`);
    expect(refused.output).toContain("LoadCredential=");
    expect(refused.output).toMatch(
      new RegExp(`storage\\.dir: cannot write .*data \\(EACCES\\) as uid ${NOBODY}`),
    );
    // Root reads it all (the check says ok), which is exactly why the unit runs the check as its own user.
    expect((await checkAs(0, file)).code).toBe(0);
    chownSync(join(dir, "tls.key"), NOBODY, NOBODY);
    chownSync(join(dir, "data"), NOBODY, NOBODY);
    const passed = await checkAs(NOBODY, file);
    expect(passed.output).toContain(": ok (0 camera(s), 0 user(s))");
    expect(passed.code).toBe(0);
  });
});
