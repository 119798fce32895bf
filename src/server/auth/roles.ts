/**
 * Who may do what through the CGI passthrough: the role catalogue of CGI actions (policy, not wire format:
 * the wire side, how the firmware decodes a query, is `protocol/cgi.ts`).
 */

import type { Role } from "../../config/schema.ts";
import { isRecordingPath } from "../../protocol/recording-path.ts";

export type { Role };

const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(role: Role, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}

/**
 * Config sections that carry credentials or keys. Reading them (and `All`, and Config.backup) needs admin:
 * the "reads are viewer" would otherwise hand a viewer the SMTP, DDNS, Wi-Fi and P2P secrets.
 */
const SECRET_CONFIG =
  /^(All|Email|DDNS|WLan|T2UServer|PPPoE|Network|UserGlobal|RemoteDevice|VSP_|Onvif|AccessPoint|RTMP|FTP|NAS|StorageGroup)/i;

/**
 * Whether reading this config name hands out credentials (then it needs admin). A list of names
 * (`General,Email`) or one with spaces around it is judged name by name: the firmware might read either.
 */
export function isSecretConfigName(name: string): boolean {
  return name.split(/[,;|\s]+/).some((part) => part === "" || SECRET_CONFIG.test(part));
}

interface CgiRule {
  /** Role for actions not listed; `get*` actions are viewer unless listed. */
  otherwise: Role;
  actions?: Record<string, Role>;
}

/**
 * The CGI action catalogue: which role may do what through the passthrough. Reads are viewer, PTZ and
 * talking are operator, everything that changes the device (setConfig, reboot, users, upgrades) is admin,
 * and anything unknown is admin.
 */
const CATALOGUE: Record<string, CgiRule> = {
  "magicBox.cgi": { otherwise: "admin" },
  "configManager.cgi": { otherwise: "admin" },
  "Config.backup": { otherwise: "admin" },
  "global.cgi": { otherwise: "admin", actions: { getCurrentTime: "viewer" } },
  "snapshot.cgi": { otherwise: "viewer" },
  "mjpg/video.cgi": { otherwise: "viewer" },
  "realmonitor.cgi": { otherwise: "viewer" },
  "ptz.cgi": { otherwise: "operator" },
  "ptzBase.cgi": { otherwise: "operator" },
  "eventManager.cgi": { otherwise: "admin", actions: { attach: "viewer" } },
  "log.cgi": { otherwise: "admin", actions: { startFind: "viewer", doFind: "viewer", stopFind: "viewer" } },
  "mediaFileFind.cgi": {
    otherwise: "viewer",
  },
  "loadfile.cgi": { otherwise: "viewer" },
  "recordManager.cgi": { otherwise: "admin" },
  "storageDevice.cgi": { otherwise: "admin", actions: { "factory.getCollect": "viewer" } },
  // A GET to audio.cgi reboots a Lorex E891AB for ~105 s (aiodahua): getAudio stays an admin action.
  "audio.cgi": { otherwise: "admin", actions: { postAudio: "operator" } },
  "devAudioInput.cgi": { otherwise: "admin" },
  "devAudioOutput.cgi": { otherwise: "admin" },
  "devVideoInput.cgi": { otherwise: "admin", actions: { adjustFocus: "operator", autoFocus: "operator" } },
  "encode.cgi": { otherwise: "admin" },
  "netApp.cgi": { otherwise: "admin" },
  "alarm.cgi": { otherwise: "admin" },
  "coaxialControlIO.cgi": { otherwise: "admin", actions: { control: "operator" } },
  "IntervideoManager.cgi": { otherwise: "admin" },
};

/** Paths whose `get*` actions are plain reads. */
const GET_IS_VIEWER = new Set([
  "magicBox.cgi",
  "global.cgi",
  "ptz.cgi",
  "eventManager.cgi",
  "recordManager.cgi",
  "storageDevice.cgi",
  "devAudioInput.cgi",
  "devAudioOutput.cgi",
  "devVideoInput.cgi",
  "encode.cgi",
  "netApp.cgi",
  "alarm.cgi",
  "coaxialControlIO.cgi",
  "IntervideoManager.cgi",
]);

/**
 * The role a passthrough request needs. `cgi` is the path below `/cgi-bin/` (`ptz.cgi`, `mjpg/video.cgi`),
 * `params` the decoded query.
 */
export function requiredRole(cgi: string, params: ReadonlyMap<string, string>): Role {
  // RPC_Loadfile serves any file the camera can read: a viewer may fetch recordings, and only those.
  if (cgi.startsWith("RPC_Loadfile/"))
    return isRecordingPath(cgi.slice("RPC_Loadfile/".length)) ? "viewer" : "admin";
  const rule = CATALOGUE[cgi];
  if (!rule) return "admin";
  const action = params.get("action") ?? "";
  if (cgi === "configManager.cgi" && action === "getConfig") {
    return isSecretConfigName(params.get("name") ?? "All") ? "admin" : "viewer";
  }
  const listed = rule.actions?.[action];
  if (listed) return listed;
  if (GET_IS_VIEWER.has(cgi) && /^get[A-Z]/.test(action)) return "viewer";
  return rule.otherwise;
}

export type CgiJudgement =
  | { ok: true; role: Role; params: ReadonlyMap<string, string> }
  | { ok: false; reason: string };

/**
 * The role a passthrough request needs, judged on exactly what the camera will execute. The request is
 * forwarded byte for byte, and which occurrence of a repeated key a firmware acts on is not known (the
 * emulator, like many CGI parsers, takes the last): a query that names a key twice (also in another case,
 * `action` and `Action`) is refused rather than guessed at, so `action=getDeviceType&action=reboot` cannot
 * pass as a read.
 */
export function judgeCgiRequest(cgi: string, pairs: readonly (readonly [string, string])[]): CgiJudgement {
  const seen = new Set<string>();
  for (const [key] of pairs) {
    const folded = key.trim().toLowerCase();
    if (seen.has(folded))
      return { ok: false, reason: `the query names "${key}" more than once; the camera could act on either` };
    seen.add(folded);
  }
  const params = new Map(pairs.map(([key, value]) => [key, value]));
  return { ok: true, role: requiredRole(cgi, params), params };
}
