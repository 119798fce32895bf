/** Config in git: backups with diffs (checked with the real git CLI), provisioning, restore, log sync, syslog. */
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { findTool, itWithTool } from "../helpers/system-tools.ts";

const run = promisify(execFile);

async function call(url: string, method = "GET", body?: unknown) {
  const response = await fetch(url, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }
      : {}),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field by the assertions.
  const data: any =
    text && /application\/(problem\+)?json/.test(response.headers.get("content-type") ?? "")
      ? JSON.parse(text)
      : text;
  return { status: response.status, data };
}

describe("config backups in git", () => {
  let gw: TestGateway;
  const repoDir = () => join(gw.storageDir, "config-backups");
  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [{ id: "front", profile: "amcrest-ipm-723w" }],
      backup: { enabled: true, intervalHours: 0 },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });
  const control = () => {
    const handle = gw.cameras.get("front");
    if (!handle) throw new Error("no camera");
    return handle.control;
  };

  it("commits a first backup, a change as a diff naming the path, and nothing when nothing changed", async () => {
    const first = await call(`${gw.url}/api/v1/backups/run`, "POST", { camera: "front" });
    expect(first.status).toBe(200);
    // The start-up backup may have been first; either way there is one version now.
    control().setConfig("NTP.Address", "pool.ntp.org");
    control().setConfig("General.MachineName", "Front Gate");
    const changed = await call(`${gw.url}/api/v1/backups/run`, "POST", { camera: "front" });
    expect(changed.data.results[0]).toMatchObject({
      camera: "front",
      changed: true,
      paths: ["General.MachineName", "NTP.Address"],
    });
    const same = await call(`${gw.url}/api/v1/backups/run`, "POST", { camera: "front" });
    expect(same.data.results[0]).toMatchObject({ changed: false, commit: null });
    const versions = (await call(`${gw.url}/api/v1/backups/front`)).data.versions;
    expect(versions).toHaveLength(2);
    expect(versions[0]).toMatchObject({
      message: "front: General, NTP changed",
      sections: ["General", "NTP"],
    });
    expect(versions[1].message).toBe("front: first backup");
    const diff = (await call(`${gw.url}/api/v1/backups/front/diff`)).data;
    expect(diff.changes).toEqual([
      { path: "General.MachineName", kind: "changed", old: "AMC0003A_3D4E5F", new: "Front Gate" },
      { path: "NTP.Address", kind: "changed", old: "clock.isc.org", new: "pool.ntp.org" },
    ]);
    expect(diff.unified).toContain('-    "Address": "clock.isc.org",');
    expect(diff.unified).toContain('+    "Address": "pool.ntp.org",');
    const json = (await call(`${gw.url}/api/v1/backups/front/${versions[0].commit}`)).data;
    expect(json.NTP.Address).toBe("pool.ntp.org");
    const list = (await call(`${gw.url}/api/v1/backups`)).data.cameras;
    expect(list[0]).toMatchObject({ camera: "front", latest: { commit: versions[0].commit } });
  });

  it("announces the change as a ConfigChanged event with the changed paths", async () => {
    const events = (await call(`${gw.url}/api/v1/events?code=ConfigChanged`)).data.events;
    expect(events[0]).toMatchObject({
      camera: "front",
      source: "gateway",
      data: { paths: ["General.MachineName", "NTP.Address"] },
    });
  });

  it("keeps secrets out of every committed object, with a stable marker", async () => {
    const json = (
      await call(
        `${gw.url}/api/v1/backups/front/${(await call(`${gw.url}/api/v1/backups/front`)).data.versions[0].commit}`,
      )
    ).data;
    expect(json.Email.Password).toBe("***redacted by camgate***");
    expect(json.WLan.wlan0.Keys).toEqual(["***redacted by camgate***"]);
    expect(json.DDNS[0].Password).toBe("***redacted by camgate***");
  });

  itWithTool(
    "git",
    () => findTool("git"),
    "is an ordinary repository: git log shows the history, git fsck passes, no object holds a secret",
    async () => {
      const log = await run("git", ["-C", repoDir(), "log", "--format=%s", "--", "front.json"]);
      expect(log.stdout.trim().split("\n")).toEqual(["front: General, NTP changed", "front: first backup"]);
      await run("git", ["-C", repoDir(), "fsck", "--full", "--strict"]);
      const objects = await run("git", ["-C", repoDir(), "cat-file", "--batch-all-objects", "--batch"], {
        maxBuffer: 64 * 1024 * 1024,
      });
      for (const secret of ["mail-secret", "ddns-secret", "wifi-secret", "camera-secret-9f3"])
        expect(objects.stdout).not.toContain(secret);
      const diff = await run("git", ["-C", repoDir(), "diff", "HEAD~1", "HEAD", "--", "front.json"]);
      expect(diff.stdout).toContain('+    "MachineName": "Front Gate",');
    },
  );

  it("restores an older version through plan and apply", async () => {
    const versions = (await call(`${gw.url}/api/v1/backups/front`)).data.versions;
    const plan = (
      await call(`${gw.url}/api/v1/backups/front/restore`, "POST", {
        commit: versions[1].commit,
        dryRun: true,
      })
    ).data;
    expect(plan.changes).toEqual(
      expect.arrayContaining([
        { path: "General.MachineName", old: "Front Gate", new: "AMC0003A_3D4E5F" },
        { path: "NTP.Address", old: "pool.ntp.org", new: "clock.isc.org" },
      ]),
    );
    const applied = (
      await call(`${gw.url}/api/v1/backups/front/restore`, "POST", { commit: versions[1].commit })
    ).data;
    expect(applied.ok).toBe(true);
    expect(control().config("NTP.Address")).toBe("clock.isc.org");
    // Secrets were redacted in the backup: the camera keeps its own.
    expect(control().config("Email.Password")).toBe("mail-secret");
  });
});

describe("provisioning", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b" },
        { id: "yard", profile: "dahua-2024" },
      ],
      backup: { enabled: true, intervalHours: 0 },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  const template = [
    'General.MachineName: "cam-${camera.id}"',
    "NTP.Enable: true",
    "NTP.Address: time.example.org",
    "Encode[0].ExtraFormat[0].Video.FPS: 5",
    'Snap[0].TimeSection[0][0]: "1 08:00:00-18:00:00"',
    "UPnP.Enable: false",
    "",
  ].join("\n");

  it("plans exactly the changes, touching nothing", async () => {
    const before =
      gw.cameras.get("dogs")?.control.counters().requestsByPath["/cgi-bin/configManager.cgi"] ?? 0;
    const plans = (await call(`${gw.url}/api/v1/provision/plan`, "POST", { template })).data.plans;
    const dogs = plans.find((p: { camera: string }) => p.camera === "dogs");
    expect(dogs.changes).toEqual([
      { path: "General.MachineName", old: "AMC00056_24AAF8", new: "cam-dogs" },
      { path: "NTP.Enable", old: "false", new: "true" },
      { path: "NTP.Address", old: "clock.isc.org", new: "time.example.org" },
      { path: "Encode[0].ExtraFormat[0].Video.FPS", old: "15", new: "5" },
      { path: "Snap[0].TimeSection[0][0]", old: "1 00:00:00-24:00:00", new: "1 08:00:00-18:00:00" },
      { path: "UPnP.Enable", old: "true", new: "false" },
    ]);
    expect(gw.cameras.get("dogs")?.control.counters().requestsByPath["/cgi-bin/configManager.cgi"] ?? 0).toBe(
      before,
    );
    expect(gw.cameras.get("dogs")?.control.config("NTP.Enable")).toBe(false);
  });

  it("applies after a backup, values with spaces intact; a second plan is empty", async () => {
    const result = (await call(`${gw.url}/api/v1/provision/apply`, "POST", { template, cameras: ["dogs"] }))
      .data;
    expect(result.ok).toBe(true);
    expect(result.results[0].backupCommit).toMatch(/^[0-9a-f]{40}$/);
    const dogs = gw.cameras.get("dogs")?.control;
    expect(dogs?.config("General.MachineName")).toBe("cam-dogs");
    expect(dogs?.config("Snap[0].TimeSection[0][0]")).toBe("1 08:00:00-18:00:00");
    expect(dogs?.config("Encode[0].ExtraFormat[0].Video.FPS")).toBe(5);
    const again = (await call(`${gw.url}/api/v1/provision/plan`, "POST", { template, cameras: ["dogs"] }))
      .data.plans[0];
    expect(again.changes).toEqual([]);
    expect(again.unchanged).toBe(6);
    // The backup taken before the apply holds the old values.
    const versions = (await call(`${gw.url}/api/v1/backups/dogs`)).data.versions;
    const before = (await call(`${gw.url}/api/v1/backups/dogs/${result.results[0].backupCommit}`)).data;
    expect(before.NTP.Enable).toBe(false);
    expect(versions.length).toBeGreaterThanOrEqual(1);
  });

  it("answers a template that is not a map of paths with 400, for plan and apply alike", async () => {
    for (const action of ["plan", "apply"]) {
      const response = await call(`${gw.url}/api/v1/provision/${action}`, "POST", {
        template: "- just\n- a list\n",
      });
      expect(response.status).toBe(400);
      expect(response.data.detail).toContain("a template is a map of config paths to values");
    }
  });

  it("reports a key the camera rejects as rejected while the others are applied", async () => {
    const result = (
      await call(`${gw.url}/api/v1/provision/apply`, "POST", {
        template: {
          "NTP.UpdatePeriod": 30,
          "Nothing.Here": 1,
          "General.MachineName": "yard A&B",
          "NTP.Port": 124,
        },
        cameras: ["yard"],
      })
    ).data;
    expect(result.ok).toBe(false);
    const byPath = Object.fromEntries(
      result.results[0].results.map((r: { path: string; status: string; error?: string }) => [r.path, r]),
    );
    expect(byPath["NTP.UpdatePeriod"].status).toBe("applied");
    expect(byPath["NTP.Port"].status).toBe("applied");
    expect(byPath["Nothing.Here"]).toMatchObject({
      status: "rejected",
      error: expect.stringContaining("Not Implemented"),
    });
    expect(byPath["General.MachineName"]).toMatchObject({
      status: "rejected",
      error: expect.stringContaining("'&'"),
    });
    expect(gw.cameras.get("yard")?.control.config("NTP.Port")).toBe(124);
  });
});

describe("camera logs and syslog", () => {
  let gw: TestGateway;
  const udpLines: string[] = [];
  const tcpData: string[] = [];
  const udp = createSocket("udp4");
  const tcp = createServer((socket) => socket.on("data", (chunk) => tcpData.push(chunk.toString())));
  beforeAll(async () => {
    udp.on("message", (message) => udpLines.push(message.toString()));
    udp.bind(0, "127.0.0.1");
    await once(udp, "listening");
    tcp.listen(0, "127.0.0.1");
    await once(tcp, "listening");
    gw = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
      syslog: { url: `udp://127.0.0.1:${udp.address().port}`, hostname: "camgate-test" },
    });
  });
  afterAll(async () => {
    await gw?.close();
    udp.close();
    tcp.close();
  });

  it("syncs the log twice over overlapping windows and stores each entry once", async () => {
    const logs = gw.camgate.backups.logs;
    const first = await logs.sync("dogs", { from: "2000-01-01 00:00:00" });
    expect(first.inserted).toBeGreaterThan(0);
    const second = await logs.sync("dogs", { from: "2000-01-01 00:00:00" });
    expect(second.seen).toBeGreaterThanOrEqual(first.seen);
    const stored = await logs.query("dogs", {});
    expect(stored.length).toBe(first.inserted + second.inserted);
    const keys = stored.map((e) => JSON.stringify(e));
    expect(new Set(keys).size).toBe(keys.length);
    const api = await call(`${gw.url}/api/v1/cameras/dogs/logs?type=Login`);
    expect(api.data.items.length).toBeGreaterThan(0);
    expect(api.data.items.every((item: { type: string }) => item.type === "Login")).toBe(true);
    const jsonl = await call(`${gw.url}/api/v1/cameras/dogs/logs?format=jsonl`);
    expect(
      String(jsonl.data)
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).type),
    ).toContain("Login");
  });

  it("forwards camera logs and gateway events to syslog in RFC 5424 form (UDP)", async () => {
    gw.cameras.get("dogs")?.control.trigger("AlarmLocal", "Pulse");
    await gw.camgate.events.publisher.gatewayEvent("dogs", "CameraOffline", { reason: "test" });
    await gw.camgate.backups.logs.sync("dogs", { from: "2000-01-01 00:00:00" });
    const deadline = Date.now() + 5000;
    while (!udpLines.some((l) => l.includes("CameraOffline")) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const offline = udpLines.find((l) => l.includes("CameraOffline"));
    expect(offline).toMatch(
      /^<131>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z camgate-test camgate \d+ CameraOffline \[camgate@32473 camera="dogs" source="gateway" code="CameraOffline" action="pulse" id="[0-9A-Z]{26}"\] dogs CameraOffline pulse$/,
    );
    expect(
      udpLines.some((l) =>
        /^<134>1 \S+ camgate-test camera-dogs \d+ Login \[camgate@32473 camera="dogs" type="Login" user="admin"\] Login by admin /.test(
          l,
        ),
      ),
    ).toBe(true);
  });

  it("sends RFC 5424 over TCP with octet-counting framing", async () => {
    const { SyslogForwarder } = await import("../../src/backup/syslog.ts");
    const forwarder = new SyslogForwarder(
      `tcp://127.0.0.1:${(tcp.address() as { port: number }).port}`,
      "camgate-test",
    );
    forwarder.send({
      severity: 4,
      time: "2026-11-28T12:00:00.000Z",
      appName: "camgate",
      msgId: "StreamStalled",
      message: "dogs stalled",
    });
    forwarder.send({
      severity: 6,
      time: "2026-11-28T12:00:01.000Z",
      appName: "camgate",
      msgId: "CameraOnline",
      message: "dogs online",
    });
    const deadline = Date.now() + 5000;
    while (!tcpData.join("").includes("dogs online") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await forwarder.close();
    const data = tcpData.join("");
    const first = `<132>1 2026-11-28T12:00:00.000Z camgate-test camgate ${process.pid} StreamStalled - dogs stalled`;
    expect(data.startsWith(`${Buffer.byteLength(first)} ${first}`)).toBe(true);
    expect(data).toContain("CameraOnline - dogs online");
  });
});
