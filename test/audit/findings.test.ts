/**
 * The audit's judgement, fact by fact: every finding the checklist has, from facts that show it, and none
 * from facts of a camera that passes. The gathering is tested against emulated cameras in audit.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { AuditFacts } from "../../src/audit/facts.ts";
import { judge } from "../../src/audit/findings.ts";
import { parseFirmware } from "../../src/audit/firmware.ts";

const AT = new Date("2026-12-07T12:00:00Z");

function facts(overrides: Partial<AuditFacts> = {}): AuditFacts {
  return {
    device: {
      model: "IPC-HDW5831R-ZE",
      platformName: "IPC-HDW5830R-Z",
      vendor: "Dahua",
      firmware: parseFirmware("3.142.0000000.2.R,build:2024-03-20"),
    },
    config: {
      General: { LockLoginEnable: true },
      T2UServer: { Enable: false },
      UPnP: { Enable: false },
      DDNS: [{ Enable: false }],
      Telnet: { Enable: false },
      UserGlobal: { OnvifLoginCheck: true },
      Email: { Enable: false, Anonymous: false, Password: "" },
      NTP: { Enable: true },
      AutoMaintain: { AutoRebootEnable: false },
    },
    clockOffsetMs: 2000,
    doors: {
      cgi: "refused",
      schemes: ["digest"],
      rtsp: "refused",
      onvif: "refused",
      ports: { telnet: "closed", ssh: "closed", dvrip: "closed", https: "open", rtmp: "closed" },
    },
    local: { username: "admin", password: "a long and private one", scheme: "https", host: "cam.lan" },
    at: AT,
    ...overrides,
  };
}

const ids = (f: AuditFacts) => judge(f).map((finding) => finding.id);

describe("the audit's findings", () => {
  it("a camera that passes the checklist has none", () => {
    expect(judge(facts())).toEqual([]);
  });

  it.each([
    ["p2p-on", { config: { ...facts().config, T2UServer: { Enable: true } } }],
    ["upnp-on", { config: { ...facts().config, UPnP: { Enable: "true" } } }],
    ["ddns-on", { config: { ...facts().config, DDNS: [{ Enable: false }, { Enable: true }] } }],
    ["telnet-on", { config: { ...facts().config, Telnet: { Enable: true } } }],
    ["onvif-login-check-off", { config: { ...facts().config, UserGlobal: { OnvifLoginCheck: false } } }],
    ["lockout-off", { config: { ...facts().config, General: { LockLoginEnable: false } } }],
    [
      "smtp-anonymous",
      { config: { ...facts().config, Email: { Enable: true, Anonymous: true, Password: "" } } },
    ],
    [
      "mail-password-stored",
      { config: { ...facts().config, Email: { Enable: false, Password: "hunter2" } } },
    ],
    ["ntp-off", { config: { ...facts().config, NTP: { Enable: false } } }],
    ["auto-maintain-reboot", { config: { ...facts().config, AutoMaintain: { AutoRebootEnable: true } } }],
    ["clock-off", { clockOffsetMs: 5 * 60_000 + 3 * 60_000 }],
    ["cgi-open", { doors: { ...facts().doors, cgi: "open" } }],
    ["rtsp-open", { doors: { ...facts().doors, rtsp: "open" } }],
    ["onvif-open", { doors: { ...facts().doors, onvif: "open" } }],
    ["telnet-open", { doors: { ...facts().doors, ports: { ...facts().doors.ports, telnet: "open" } } }],
    ["ssh-open", { doors: { ...facts().doors, ports: { ...facts().doors.ports, ssh: "open" } } }],
    [
      "private-protocol-open",
      { doors: { ...facts().doors, ports: { ...facts().doors.ports, dvrip: "open" } } },
    ],
    ["rtmp-open", { doors: { ...facts().doors, ports: { ...facts().doors.ports, rtmp: "open" } } }],
    ["default-password", { local: { ...facts().local, password: "888888" } }],
    ["default-password", { local: { ...facts().local, password: "Admin" } }],
    [
      "http-basic-offered",
      {
        local: { ...facts().local, scheme: "http" as const },
        doors: { ...facts().doors, schemes: ["basic", "digest"] },
      },
    ],
    [
      "https-off",
      {
        local: { ...facts().local, scheme: "http" as const },
        doors: { ...facts().doors, ports: { ...facts().doors.ports, https: "closed" } },
      },
    ],
    [
      "firmware-old",
      { device: { ...facts().device, firmware: parseFirmware("3.142.0000000.2.R,build:2019-03-20") } },
    ],
    [
      "advisory-CVE-2021-33044",
      { device: { ...facts().device, firmware: parseFirmware("2.800.0000016.0.R,build:2020-06-05") } },
    ],
  ] as [string, Partial<AuditFacts>][])("%s", (id, change) => {
    const found = judge(facts(change));
    expect(found.map((f) => f.id)).toContain(id);
    const finding = found.find((f) => f.id === id);
    expect(finding?.seen.length).toBeGreaterThan(3);
    expect(finding?.why.length).toBeGreaterThan(10);
    expect(finding?.fix.length).toBeGreaterThan(5);
  });

  it("an exploited advisory is critical; a time zone is not a wrong clock", () => {
    const kev = judge(
      facts({ device: { ...facts().device, firmware: parseFirmware("2.800.0000016.0.R,build:2020-06-05") } }),
    );
    expect(kev.find((f) => f.id === "advisory-CVE-2021-33044")?.severity).toBe("critical");
    // What gather.ts leaves once the camera's time zone is taken out: 20 s, within the minute allowed.
    expect(ids(facts({ clockOffsetMs: 20_000 }))).not.toContain("clock-off");
  });

  it("the most severe come first", () => {
    const found = judge(
      facts({
        local: { ...facts().local, password: "admin" },
        config: { ...facts().config, NTP: { Enable: false }, AutoMaintain: { AutoRebootEnable: true } },
      }),
    );
    expect(found.map((f) => f.severity)).toEqual(["critical", "medium", "info"]);
  });
});
