/**
 * contrib/systemd/camgate.service as systemd reads it: `systemd-analyze verify` finds nothing to say (a
 * typo in a key or a value is a warning it prints), and the offline security review rates the hardening
 * (DynamicUser, ProtectSystem=strict, a system call filter, no capabilities) at an exposure below 2 of 10.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findTool, itWithTool } from "../helpers/system-tools.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const locate = () => findTool("systemd-analyze", ["systemd-analyze"], ["--version"]);

describe("the systemd unit", () => {
  const dir = mkdtempSync(join(tmpdir(), "camgate-systemd-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // verify checks that ExecStart's program exists: the repository's own CLI stands in for camgate on PATH.
  const unit = join(dir, "camgate.service");
  writeFileSync(
    unit,
    readFileSync(join(ROOT, "contrib/systemd/camgate.service"), "utf8").replace(
      "/usr/bin/env camgate",
      join(ROOT, "bin/camgate.js"),
    ),
  );

  itWithTool("systemd-analyze", locate, "passes systemd-analyze verify without a warning", (tool) => {
    const result = spawnSync(tool, ["verify", "--man=no", unit], { encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("runs camgate from PATH and lets Node list the interfaces (AF_NETLINK, for WebRTC)", () => {
    const text = readFileSync(join(ROOT, "contrib/systemd/camgate.service"), "utf8");
    expect(text).toMatch(/^ExecStart=\/usr\/bin\/env camgate serve /m);
    expect(text).toMatch(/^RestrictAddressFamilies=.*\bAF_NETLINK\b/m);
  });

  itWithTool("systemd-analyze", locate, "is hardened: an exposure level under 2.0", (tool) => {
    const result = spawnSync(tool, ["security", "--offline=yes", "--threshold=20", unit], {
      encoding: "utf8",
    });
    expect(result.stdout).toMatch(/Overall exposure level for camgate\.service: 1\.\d/);
    expect(result.status).toBe(0);
  });
});
