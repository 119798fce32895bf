/**
 * Roles on the camera web UI's RPC2 methods, judged on exactly what the camera will run: viewers read
 * (device facts, the time, config sections, with secrets redacted), operators also move PTZ, admins do
 * everything; a method not listed needs admin; `system.multicall` is judged call by call (the caller must be
 * allowed every inner call). The same rule as the CGI catalogue (roles.ts).
 */
import { isSecretPath, REDACTED } from "../../backup/normalise.ts";
import type { Role } from "../../config/schema.ts";

const VIEWER_METHODS = new Set([
  "global.getCurrentTime",
  "global.keepAlive",
  "global.logout",
  "magicBox.getSerialNo",
  "magicBox.getDeviceType",
  "magicBox.getDeviceClass",
  "magicBox.getMachineName",
  "magicBox.getSoftwareVersion",
  "magicBox.getHardwareVersion",
  "magicBox.getVendor",
  "magicBox.getSystemInfo",
  "magicBox.getProductDefinition",
  "configManager.getConfig",
  "configManager.getDefault",
  "devVideoInput.getCaps",
  "encode.getCaps",
  "system.listMethod",
  "system.listService",
]);

/** Config sections whose reading needs admin whatever is redacted in them (accounts, keys). */
const ADMIN_SECTIONS =
  /^(RemoteDevice|Users?|UserGlobal|AccessControl|Onvif|SSHD|Telnet|WLan|DDNS|PPPoE|Email|FTP|NAS)/i;

const OPERATOR_PREFIXES = ["ptz."];

export interface Rpc2Call {
  method: string;
  params?: unknown;
}

export function rpc2RoleFor(call: Rpc2Call): Role {
  if (call.method === "configManager.getConfig" || call.method === "configManager.getDefault") {
    const name = (call.params as { name?: unknown } | undefined)?.name;
    return typeof name === "string" && !ADMIN_SECTIONS.test(name) ? "viewer" : "admin";
  }
  if (VIEWER_METHODS.has(call.method)) return "viewer";
  if (OPERATOR_PREFIXES.some((prefix) => call.method.startsWith(prefix))) return "operator";
  return "admin";
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** The role a whole message needs: a multicall the most any of its calls needs (none: admin). */
export function rpc2RoleForMessage(message: Rpc2Call): Role {
  if (message.method !== "system.multicall") return rpc2RoleFor(message);
  const calls = Array.isArray(message.params) ? message.params : [];
  if (calls.length === 0) return "admin";
  let needed: Role = "viewer";
  for (const inner of calls) {
    const method = (inner as { method?: unknown } | null)?.method;
    // A nested multicall or a call without a method is judged as the unknown it is.
    const role =
      typeof method === "string" && method !== "system.multicall" ? rpc2RoleFor(inner as Rpc2Call) : "admin";
    if (RANK[role] > RANK[needed]) needed = role;
  }
  return needed;
}

/** A config answer with every secret-named value replaced (for viewers and operators). */
export function redactRpc2(value: unknown, path: string): unknown {
  if (Array.isArray(value)) return value.map((item, i) => redactRpc2(item, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = redactRpc2(item, path ? `${path}.${key}` : key);
    return out;
  }
  return typeof value === "string" && value !== "" && isSecretPath(path) ? REDACTED : value;
}
