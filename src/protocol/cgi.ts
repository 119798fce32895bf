/**
 * How a CGI answer is judged (reference §2.0): the status code alone lies, because firmware answers HTTP 200
 * with an `Error` body, and "unsupported" is 400 `Bad Request!` on older firmware and 501 `Not Implemented!`
 * on 2024 firmware.
 */

export type CameraErrorCode =
  | "unreachable"
  | "timeout"
  | "auth-failed"
  | "locked-out"
  | "busy"
  | "unsupported"
  | "rejected"
  | "forbidden"
  | "bad-response";

export type CgiVerdict = { ok: true } | { ok: false; code: CameraErrorCode; detail: string };

/** Reads the first few hundred bytes of a body as text for classification. */
function head(body: Buffer | string): string {
  return (typeof body === "string" ? body.slice(0, 512) : body.subarray(0, 512).toString("utf8")).trim();
}

/** Judges a complete CGI answer (not 401: the session handles authentication first). */
export function classifyCgiResponse(status: number, body: Buffer | string): CgiVerdict {
  const text = head(body);
  const detail = text.replace(/\s+/g, " ").slice(0, 200);
  if (status === 403) return { ok: false, code: "forbidden", detail: detail || "403 Forbidden" };
  if (status === 400 || status === 404 || status === 501)
    return { ok: false, code: "unsupported", detail: detail || `HTTP ${status}` };
  if (status >= 500)
    return { ok: false, code: "bad-response", detail: `HTTP ${status}${detail ? `: ${detail}` : ""}` };
  if (status < 200 || status >= 300) return { ok: false, code: "bad-response", detail: `HTTP ${status}` };
  // A 200 whose body starts with "Error" failed (LTN6416 "Error: Error -1 getting param", python-amcrest
  // "Error\r\nErrorID=2, Detail=Invalid Request!"), even as the body of a binary download (aiodahua).
  if (/^error\b/i.test(text)) {
    // 200 + "Error\r\nBad Request!" is how some firmware says unsupported (loadfile with no recording).
    if (/bad request!|not implemented!/i.test(text)) return { ok: false, code: "unsupported", detail };
    return { ok: false, code: "rejected", detail };
  }
  return { ok: true };
}

/** Writes answer `OK` (usually `OK\r\n`); compared case-insensitively after trimming (rroller verify_ok). */
export function isOkBody(body: Buffer | string): boolean {
  return head(body).toUpperCase() === "OK";
}

/** The roles of camgate, in increasing power. */
export type Role = "viewer" | "operator" | "admin";

const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(role: Role, needed: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}

/**
 * Config sections that carry credentials or keys. Reading them (and `All`, and Config.backup) needs admin:
 * the issue's "reads are viewer" would otherwise hand a viewer the SMTP, DDNS, Wi-Fi and P2P secrets.
 */
const SECRET_CONFIG =
  /^(All|Email|DDNS|WLan|T2UServer|PPPoE|Network|UserGlobal|RemoteDevice|VSP_|Onvif|AccessPoint|RTMP|FTP|NAS|StorageGroup)/i;

/** Whether reading this config name hands out credentials (then it needs admin). */
export function isSecretConfigName(name: string): boolean {
  return SECRET_CONFIG.test(name);
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
  if (cgi.startsWith("RPC_Loadfile/")) return "viewer";
  const rule = CATALOGUE[cgi];
  if (!rule) return "admin";
  const action = params.get("action") ?? "";
  if (cgi === "configManager.cgi" && action === "getConfig") {
    return SECRET_CONFIG.test(params.get("name") ?? "All") ? "admin" : "viewer";
  }
  const listed = rule.actions?.[action];
  if (listed) return listed;
  if (GET_IS_VIEWER.has(cgi) && /^get[A-Z]/.test(action)) return "viewer";
  return rule.otherwise;
}

/**
 * The query as the firmware reads it: percent-decoded as a whole *before* splitting on `&` and `=`
 * (NV4116-HS, aiodahua), so role decisions see the same actions and names the camera will act on.
 */
export function decodeDeviceQuery(rawQuery: string): Map<string, string> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawQuery.replace(/\+/g, " "));
  } catch {
    decoded = rawQuery.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
  }
  const params = new Map<string, string>();
  for (const pair of decoded.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    // The first occurrence wins, as in the firmware's CGI parser; a later duplicate cannot change the action.
    if (!params.has(key)) params.set(key, eq < 0 ? "" : pair.slice(eq + 1));
  }
  return params;
}
