/**
 * The security audit from both sides: an emulated camera its owner never hardened (then loosened: Telnet on
 * a port of its own, RTSP without a login, the ONVIF and lockout checks off) and one that passes the
 * baseline, audited by a gateway; what each finds, that no login fails while it looks, who may read it, the
 * events it raises, and a fix applied on the camera that the next audit sees resolved.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditReport } from "../../src/audit/audit-service.ts";
import { type EmulatedCameraHandle, type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/http.ts";

const ADMIN = "audit-admin-token";
const VIEWER = "audit-viewer-token";
let gateway: TestGateway;
const emulators: RunningEmulator[] = [];

const get = (path: string, token = ADMIN) =>
  fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
const post = (path: string, token = ADMIN) =>
  fetch(`${gateway.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}` } });

async function reportOf(camera: string): Promise<AuditReport> {
  return waitFor(
    async () => {
      const response = await get(`/api/v1/cameras/${camera}/audit`);
      return response.status === 200 ? ((await response.json()) as AuditReport) : undefined;
    },
    20_000,
    `the audit of ${camera}`,
  );
}
const ids = (report: AuditReport) => report.findings.map((f) => f.id);

async function eventsOf(camera: string, code: string) {
  const response = await get(`/api/v1/events?camera=${camera}&code=${code}`);
  return ((await response.json()) as { events: { action: string; data: Record<string, unknown> }[] }).events;
}

beforeAll(async () => {
  const loose = await startEmulator({
    profile: "amcrest-ip2m-841b",
    password: CAMERA_PASSWORD,
    security: "insecure",
    telnetPort: 0,
    rtsp: { anonymous: true },
  });
  const hardened = await startEmulator({
    profile: "dahua-2024",
    password: CAMERA_PASSWORD,
    security: "secure",
  });
  emulators.push(loose, hardened);
  const closedPort = await freePort();
  const noPorts = { ssh: false, dvrip: false, https: false, rtmp: false };
  gateway = await startTestGateway({
    emulators: new Map<string, EmulatedCameraHandle>([
      ["loose", loose.cameras[0] as EmulatedCameraHandle],
      ["hardened", hardened.cameras[0] as EmulatedCameraHandle],
    ]),
    cameras: [
      {
        id: "loose",
        profile: "amcrest-ip2m-841b",
        config: { audit: { ports: { ...noPorts, telnet: loose.cameras[0]?.camera.telnet?.listeningPort } } },
      },
      {
        id: "hardened",
        profile: "dahua-2024",
        config: { audit: { ports: { ...noPorts, telnet: closedPort } } },
      },
    ],
    users: [
      { name: "admin", role: "admin", token: ADMIN },
      { name: "viewer", role: "viewer", token: VIEWER },
    ],
    audit: { enabled: true },
    events: { enabled: false },
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all(emulators.map((e) => e.close()));
});

describe("the security audit", () => {
  it("finds what is unsafe about a camera nobody hardened, each finding with what was seen and the fix", async () => {
    const report = await reportOf("loose");
    expect(report.error).toBeUndefined();
    expect(ids(report)).toEqual(
      expect.arrayContaining([
        "p2p-on",
        "upnp-on",
        "ddns-on",
        "telnet-on",
        "onvif-login-check-off",
        "rtsp-open",
        "lockout-off",
        "ntp-off",
        "auto-maintain-reboot",
        "firmware-old",
        "advisory-CVE-2019-3948",
      ]),
    );
    // Its HTTP API asked for credentials, offering Digest (the IP2M-841B's firmware).
    expect(ids(report)).not.toContain("cgi-open");
    // A door seen open and the setting that opens it are one finding, with both seen.
    expect(ids(report)).not.toContain("telnet-open");
    expect(ids(report)).not.toContain("onvif-open");
    const telnet = report.findings.find((f) => f.id === "telnet-on");
    const telnetPort = gateway.cameras.get("loose")?.camera.telnet?.listeningPort;
    expect(telnet?.seen).toBe(`Telnet.Enable=true; TCP port ${telnetPort} open`);
    expect(report.doors).toMatchObject({ cgi: "refused", rtsp: "open", onvif: "open" });
    // One knock per door: the one audit so far made one RTSP connection and one ONVIF request.
    const loose = gateway.cameras.get("loose");
    expect(loose?.control.rtspCounters().connections).toBe(1);
    expect(loose?.control.counters().requestsByPath["/onvif/device_service"]).toBe(1);
    expect(report.doors?.ports.telnet).toBe("open");
    const p2p = report.findings.find((f) => f.id === "p2p-on");
    expect(p2p).toMatchObject({
      severity: "high",
      seen: "T2UServer.Enable=true",
      fixConfig: { "T2UServer.Enable": false },
    });
    expect(p2p?.why.length).toBeGreaterThan(20);
    // The most severe first.
    expect(report.findings[0]?.severity).toBe("high");
    expect(report.counts.high).toBeGreaterThanOrEqual(6);
  });

  it("a camera that passes the baseline has no finding above low, and every advisory says why it does not apply", async () => {
    const report = await reportOf("hardened");
    expect(report.error).toBeUndefined();
    const serious = report.findings.filter((f) => ["critical", "high", "medium"].includes(f.severity));
    expect(serious).toEqual([]);
    expect(report.doors).toMatchObject({ cgi: "refused", rtsp: "refused", onvif: "refused" });
    expect(report.doors?.ports.telnet).toBe("closed");
    // dahua-2024 is an IPC-HDW5xxx built 2024-03-20: inside the KEV families, after their fixes.
    const kev = report.advisories.find((a) => a.id === "CVE-2021-33044");
    expect(kev).toMatchObject({ status: "fixed" });
    expect(kev?.evidence).toContain("2024-03-20");
  });

  it("tries no password: no login failed on either camera while the audits ran", async () => {
    await reportOf("loose");
    await reportOf("hardened");
    for (const id of ["loose", "hardened"]) {
      const counters = gateway.cameras.get(id)?.control.counters();
      expect(counters?.authFailures).toBe(0);
      expect(counters?.refusedLocked).toBe(0);
    }
    expect(gateway.cameras.get("loose")?.control.rtspCounters().authFailures ?? 0).toBe(0);
    // Nor is the cameras' password in anything camgate logged.
    expect(gateway.logs()).not.toContain(CAMERA_PASSWORD);
  });

  it("is for admins: a viewer is refused, and the problem is an event with its state", async () => {
    expect((await get("/api/v1/cameras/loose/audit", VIEWER)).status).toBe(403);
    expect((await post("/api/v1/cameras/loose/audit", VIEWER)).status).toBe(403);
    const problem = await waitFor(
      async () => (await eventsOf("loose", "SecurityProblem"))[0],
      10_000,
      "SecurityProblem",
    );
    expect(problem.action).toBe("start");
    expect(await eventsOf("hardened", "SecurityProblem")).toEqual([]);
    const finding = (await eventsOf("loose", "SecurityFinding"))[0];
    const added = (finding?.data.added ?? []) as { id: string }[];
    expect(added.map((f) => f.id)).toContain("telnet-on");
  });

  it("fixes through the baseline: a plan of the exact keys first, then backed up, applied and audited again", async () => {
    const post = (camera: string, body: unknown) =>
      fetch(`${gateway.url}/api/v1/cameras/${camera}/audit/fix`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    // A hardened camera: nothing to change.
    const clean = (await (await post("hardened", { baseline: true, dryRun: true })).json()) as {
      plan: { changes: unknown[]; skipped: string[] };
    };
    expect(clean.plan.changes).toEqual([]);
    expect(clean.plan.skipped).toEqual([]);
    // No config key fixes an RTSP without login: said, nothing sent.
    const none = await post("loose", { findings: ["rtsp-open"] });
    expect(none.status).toBe(400);
    const before = await reportOf("loose");
    const fixable = before.findings.filter((f) => f.fixConfig).map((f) => f.id);
    expect(fixable).toEqual(expect.arrayContaining(["telnet-on", "p2p-on", "upnp-on"]));
    const planned = (await (await post("loose", { findings: fixable, dryRun: true })).json()) as {
      plan: { changes: { path: string; old: string; new: string }[] };
    };
    expect(planned.plan.changes).toEqual(
      expect.arrayContaining([
        { path: "Telnet.Enable", old: "true", new: "false" },
        { path: "T2UServer.Enable", old: "true", new: "false" },
      ]),
    );
    // The plan touched nothing.
    expect(gateway.cameras.get("loose")?.camera.configValue("Telnet.Enable")).toBe(true);
    const fixed = (await (await post("loose", { findings: fixable })).json()) as {
      result: { ok: boolean; backupCommit?: string };
      backupAfter: string | null;
      report: AuditReport;
    };
    // Backed up to git before and after: two commits, the second with the change.
    expect(fixed.result.backupCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(fixed.backupAfter).toMatch(/^[0-9a-f]{40}$/);
    expect(fixed.backupAfter).not.toBe(fixed.result.backupCommit);
    expect(fixed.result.ok).toBe(true);
    expect(gateway.cameras.get("loose")?.camera.configValue("Telnet.Enable")).toBe(false);
    const after = fixed.report;
    for (const id of fixable) expect(ids(after)).not.toContain(id);
    expect(after.doors?.ports.telnet).toBe("closed");
    // What no key fixes stays: RTSP without a login.
    expect(ids(after)).toContain("rtsp-open");
    const resolved = await waitFor(
      async () =>
        (await eventsOf("loose", "SecurityFinding")).find(
          (e) => ((e.data.resolved ?? []) as unknown[]).length > 0,
        ),
      10_000,
      "a SecurityFinding with resolved findings",
    );
    expect((resolved.data.resolved as { id: string }[]).map((f) => f.id)).toEqual(
      expect.arrayContaining(["telnet-on", "p2p-on"]),
    );
  });
});
