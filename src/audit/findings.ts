/**
 * The audit's judgement: facts about one camera (`facts.ts`) in, findings out, each with a stable id, a
 * severity, what was seen, why it matters in one sentence and the fix (with the setConfig keys where a key
 * fixes it: the hardening baseline applies those). The checklist is the one a new owner of these cameras is
 * told to follow (docs/security.md lists each finding and its source). Pure.
 */
import type { JsonValue } from "../protocol/kv.ts";
import { matchAdvisories } from "./advisory-match.ts";
import type { AuditedSection, AuditFacts, PortName } from "./facts.ts";

export type Severity = "critical" | "high" | "medium" | "low" | "info";
export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low", "info"];

export type ConfigValue = string | number | boolean;

export interface Finding {
  /** Stable across runs and releases (`p2p-on`, `advisory-CVE-2021-33044`). */
  id: string;
  severity: Severity;
  title: string;
  /** What was seen: the config key and its value, the port, the build. */
  seen: string;
  why: string;
  fix: string;
  /** The config keys that fix it (`setConfig` paths), when keys do. */
  fixConfig?: Record<string, ConfigValue>;
  sources?: readonly string[];
}

export interface JudgeOptions {
  /** Firmware built longer ago than this is a finding (years; default 4). */
  firmwareMaxAgeYears?: number;
  /** The largest clock difference that is not a finding (ms; default one minute). */
  clockToleranceMs?: number;
}

/** Passwords these cameras ship with or that old DVR-era accounts use (Dahua and Amcrest manuals). */
const DEFAULT_PASSWORDS = new Set(["", "admin", "888888", "666666", "123456", "12345", "password"]);

const isOn = (value: JsonValue | undefined) => value === true || value === "true";
const isOff = (value: JsonValue | undefined) => value === false || value === "false";

function field(facts: AuditFacts, section: AuditedSection, ...path: string[]): JsonValue | undefined {
  let value: JsonValue | undefined = facts.config[section];
  for (const key of path) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = value[key];
  }
  return value;
}

function configFindings(facts: AuditFacts): Finding[] {
  const found: Finding[] = [];
  if (isOn(field(facts, "T2UServer", "Enable")))
    found.push({
      id: "p2p-on",
      severity: "high",
      title: "P2P cloud access is on",
      seen: "T2UServer.Enable=true",
      why: "the camera keeps a tunnel to the vendor's relay open, past the owner's firewall, with the camera's own login as the only guard",
      fix: "turn P2P off; camgate is the way in from outside",
      fixConfig: { "T2UServer.Enable": false },
    });
  if (isOn(field(facts, "UPnP", "Enable")))
    found.push({
      id: "upnp-on",
      severity: "high",
      title: "UPnP is on",
      seen: "UPnP.Enable=true",
      why: "the camera can ask the router to open its ports to the Internet",
      fix: "turn UPnP off",
      fixConfig: { "UPnP.Enable": false },
    });
  const ddns = facts.config.DDNS;
  const ddnsOn = (Array.isArray(ddns) ? ddns : ddns === undefined ? [] : [ddns])
    .map((entry, index) => ({ entry, index }))
    .filter(
      ({ entry }) =>
        entry !== null && typeof entry === "object" && !Array.isArray(entry) && isOn(entry.Enable),
    );
  if (ddnsOn.length > 0)
    found.push({
      id: "ddns-on",
      severity: "medium",
      title: "dynamic DNS is on",
      seen: ddnsOn.map(({ index }) => `DDNS[${index}].Enable=true`).join(", "),
      why: "it publishes the camera's address under a name, which only helps if the camera is reachable from outside",
      fix: "turn dynamic DNS off",
      fixConfig: Object.fromEntries(
        ddnsOn.map(({ index }) => [Array.isArray(ddns) ? `DDNS[${index}].Enable` : "DDNS.Enable", false]),
      ),
    });
  if (isOn(field(facts, "Telnet", "Enable")))
    found.push({
      id: "telnet-on",
      severity: "high",
      title: "Telnet is on",
      seen: "Telnet.Enable=true",
      why: "a root shell of the camera's Linux is one password away, sent in clear",
      fix: "turn Telnet off",
      fixConfig: { "Telnet.Enable": false },
    });
  if (isOff(field(facts, "UserGlobal", "OnvifLoginCheck")))
    found.push({
      id: "onvif-login-check-off",
      severity: "high",
      title: "ONVIF does not check logins",
      seen: "UserGlobal.OnvifLoginCheck=false",
      why: "ONVIF can change users, the network and reboot the camera, and anyone on the LAN may then use it",
      fix: "turn the ONVIF login check on",
      fixConfig: { "UserGlobal.OnvifLoginCheck": true },
      sources: ["python-amcrest: onvif_login_check (UserGlobal.OnvifLoginCheck)"],
    });
  if (isOff(field(facts, "General", "LockLoginEnable")))
    found.push({
      id: "lockout-off",
      severity: "high",
      title: "failed logins never lock",
      seen: "General.LockLoginEnable=false",
      why: "the camera's password can be guessed at the network's speed",
      fix: "turn the login lock on (camgate never fails more than one login per backoff, so it cannot lock itself out)",
      fixConfig: { "General.LockLoginEnable": true },
    });
  const mailOn = isOn(field(facts, "Email", "Enable"));
  if (mailOn && isOn(field(facts, "Email", "Anonymous")))
    found.push({
      id: "smtp-anonymous",
      severity: "low",
      title: "alarm mail is sent without logging in to the mail server",
      seen: "Email.Anonymous=true",
      why: "a mail server that takes mail without a login takes it from anyone on the network too",
      fix: "send the camera's alarm mail to camgate's own SMTP ingest, or use an account",
    });
  const mailPassword = field(facts, "Email", "Password");
  if (typeof mailPassword === "string" && mailPassword !== "" && !/^\*+$/.test(mailPassword))
    found.push({
      id: "mail-password-stored",
      severity: "medium",
      title: "a mail password is stored in the camera",
      seen: "Email.Password is set",
      why: "anyone who can read the camera's config (a backup, an old firmware's config export) reads the mailbox's password",
      // No key fixes it: the firmware answers `Email.Password=` (empty) with OK and keeps the old value
      // (emulator/cgi-config.ts, after aiodahua's NV4116-HS); the camera's web UI can clear it.
      fix: mailOn
        ? "send alarm mail to camgate's SMTP ingest, which needs no mailbox password, then clear the password in the camera's web UI"
        : "clear the password in the camera's web UI (alarm mail is off)",
    });
  if (isOff(field(facts, "NTP", "Enable")))
    found.push({
      id: "ntp-off",
      severity: "medium",
      title: "the clock is not set by NTP",
      seen: "NTP.Enable=false",
      why: "the camera's clock drifts, and its recordings and events then carry the wrong time",
      fix: "turn NTP on (with a server the camera can reach)",
      fixConfig: { "NTP.Enable": true },
    });
  if (isOn(field(facts, "AutoMaintain", "AutoRebootEnable"))) {
    const day = field(facts, "AutoMaintain", "AutoRebootDay");
    const hour = field(facts, "AutoMaintain", "AutoRebootHour");
    found.push({
      id: "auto-maintain-reboot",
      severity: "info",
      title: "the camera reboots itself on a schedule",
      seen: `AutoMaintain.AutoRebootEnable=true (AutoRebootDay=${String(day)}, AutoRebootHour=${String(hour)})`,
      why: "nothing is recorded while it restarts; camgate reports it as a reboot, not an outage",
      fix: "keep it if the camera needs it; otherwise turn it off",
    });
  }
  return found;
}

const portOf = (facts: AuditFacts, name: PortName, standard: number) =>
  facts.doors.portNumbers?.[name] ?? standard;

function doorFindings(facts: AuditFacts): Finding[] {
  const { doors } = facts;
  const found: Finding[] = [];
  if (doors.cgi === "open")
    found.push({
      id: "cgi-open",
      severity: "critical",
      title: "the camera's HTTP API answers without credentials",
      seen: "magicBox.cgi?action=getDeviceType answered 200 to a request without credentials",
      why: "anyone on the network can read and change the camera",
      fix: "update the firmware; set a password for every account",
    });
  if (doors.schemes.includes("basic") && facts.local.scheme === "http")
    found.push({
      id: "http-basic-offered",
      severity: "medium",
      title: "the camera accepts passwords in clear (HTTP Basic over plain HTTP)",
      seen: `WWW-Authenticate offers ${doors.schemes.join(", ")}`,
      why: "a client that picks Basic sends the password readable by anyone on the LAN",
      fix: "set the camera's authentication to Digest only, or use HTTPS",
    });
  if (doors.rtsp === "open")
    found.push({
      id: "rtsp-open",
      severity: "high",
      title: "the video streams play without credentials",
      seen: "RTSP DESCRIBE without credentials answered 200",
      why: "anyone on the network can watch the camera",
      fix: "turn RTSP authentication on (Setup > Network > Port/RTSP, or the ONVIF/RTSP login check)",
    });
  if (doors.onvif === "open")
    found.push({
      id: "onvif-open",
      severity: "high",
      title: "ONVIF answers without credentials",
      seen: "GetDeviceInformation without WS-Security answered with the device's information",
      why: "ONVIF can change users, the network and reboot the camera",
      fix: "turn the ONVIF login check on",
      fixConfig: { "UserGlobal.OnvifLoginCheck": true },
    });
  if (doors.ports.telnet === "open")
    found.push({
      id: "telnet-open",
      severity: "high",
      title: "Telnet accepts connections",
      seen: `TCP port ${portOf(facts, "telnet", 23)} open`,
      why: "a shell of the camera's Linux is one password away, sent in clear",
      fix: "turn Telnet off",
      fixConfig: { "Telnet.Enable": false },
    });
  if (doors.ports.ssh === "open")
    found.push({
      id: "ssh-open",
      severity: "medium",
      title: "SSH accepts connections",
      seen: `TCP port ${portOf(facts, "ssh", 22)} open`,
      why: "a debug shell on the LAN that nothing camgate does needs",
      fix: "turn SSH off in the camera's web UI (System > Safety)",
    });
  if (doors.ports.dvrip === "open")
    found.push({
      id: "private-protocol-open",
      severity: "low",
      title: "Dahua's private protocol (TCP 37777) accepts connections",
      seen: `TCP port ${portOf(facts, "dvrip", 37777)} open`,
      why: "the vendor apps' protocol, with its own login and its own history of flaws (CVE-2020-5735, CVE-2013-6117)",
      fix: "keep it only for the vendor's apps; block it at the firewall otherwise",
    });
  if (doors.ports.rtmp === "open")
    found.push({
      id: "rtmp-open",
      severity: "low",
      title: "an RTMP port accepts connections",
      seen: `TCP port ${portOf(facts, "rtmp", 1935)} open`,
      why: "a streaming service nothing camgate does needs",
      fix: "turn RTMP off in the camera's web UI",
    });
  if (facts.local.scheme === "http" && doors.ports.https !== "open")
    found.push({
      id: "https-off",
      severity: "low",
      title: "the camera is reached over plain HTTP",
      seen: `${facts.local.scheme}://${facts.local.host}, TCP port ${portOf(facts, "https", 443)} ${doors.ports.https}`,
      why: "Digest keeps the password off the wire, but the rest of every exchange (config, pictures) is readable on the LAN",
      fix: "keep the camera on a network only camgate reaches, or turn HTTPS on and use an https:// URL",
    });
  return found;
}

function localFindings(facts: AuditFacts, options: JudgeOptions): Finding[] {
  const found: Finding[] = [];
  const { username, password } = facts.local;
  if (DEFAULT_PASSWORDS.has(password) || password.toLowerCase() === username.toLowerCase())
    found.push({
      id: "default-password",
      severity: "critical",
      title: "the camera's password is a factory default or the user name",
      seen: "the password camgate is configured with (checked locally, never tried on the camera)",
      why: "default passwords are the first thing every scan on a network tries",
      fix: "change the camera's password, then camgate's cameras[].password (the reload applies it without a lockout)",
    });
  if (
    facts.clockOffsetMs !== undefined &&
    Math.abs(facts.clockOffsetMs) > (options.clockToleranceMs ?? 60_000)
  )
    found.push({
      id: "clock-off",
      severity: "medium",
      title: "the camera's clock is wrong",
      seen: `${Math.round(facts.clockOffsetMs / 1000)} s from camgate's`,
      why: "events and the camera's own recordings carry the wrong time, and evidence with a wrong time is weak",
      fix: "turn NTP on, or set the camera's time from camgate",
    });
  const build = facts.device.firmware?.buildDate;
  const maxYears = options.firmwareMaxAgeYears ?? 4;
  if (build) {
    const ageYears = (facts.at.getTime() - Date.parse(`${build}T00:00:00Z`)) / (365.25 * 86_400_000);
    if (ageYears > maxYears)
      found.push({
        id: "firmware-old",
        severity: "medium",
        title: `the firmware is over ${maxYears} years old`,
        seen: `${facts.device.firmware?.version} built ${build}`,
        why: "flaws found since are not fixed in it",
        fix: "update the firmware from the vendor's site for this exact model",
      });
  }
  return found;
}

function advisoryFindings(facts: AuditFacts): Finding[] {
  return matchAdvisories(facts.device)
    .filter((verdict) => verdict.status === "affected" || verdict.status === "unknown")
    .map((verdict) => ({
      id: `advisory-${verdict.id}`,
      severity: verdict.status === "affected" ? (verdict.kev ? "critical" : verdict.severity) : "info",
      title:
        verdict.status === "affected"
          ? `${verdict.id}${verdict.kev ? " (exploited in the wild)" : ""}: ${verdict.title}`
          : `${verdict.id}: cannot tell whether this firmware is affected (${verdict.title})`,
      seen: verdict.evidence,
      why:
        verdict.status === "affected"
          ? `the firmware is in the range the advisory names: ${verdict.title}`
          : "the advisory covers this model, but not in a way camgate can check against this build",
      fix: "update the firmware from the vendor's site for this exact model",
      sources: verdict.sources,
    }));
}

const RANK = new Map(SEVERITIES.map((s, i) => [s, i]));

/** A door seen open and the setting that opens it are one finding: the setting's, with both seen. */
const SAME_CAUSE: [door: string, setting: string][] = [
  ["telnet-open", "telnet-on"],
  ["onvif-open", "onvif-login-check-off"],
];

function merged(findings: Finding[]): Finding[] {
  const byId = new Map(findings.map((f) => [f.id, f]));
  const dropped = new Set<string>();
  for (const [door, setting] of SAME_CAUSE) {
    const seenOpen = byId.get(door);
    const cause = byId.get(setting);
    if (!seenOpen || !cause) continue;
    byId.set(setting, { ...cause, seen: `${cause.seen}; ${seenOpen.seen}` });
    dropped.add(door);
  }
  return findings.filter((f) => !dropped.has(f.id)).map((f) => byId.get(f.id) ?? f);
}

/** Every finding, the most severe first. */
export function judge(facts: AuditFacts, options: JudgeOptions = {}): Finding[] {
  return merged([
    ...advisoryFindings(facts),
    ...localFindings(facts, options),
    ...doorFindings(facts),
    ...configFindings(facts),
  ]).sort((a, b) => (RANK.get(a.severity) ?? 9) - (RANK.get(b.severity) ?? 9));
}
