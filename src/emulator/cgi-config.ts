/** configManager.cgi and Config.backup of the emulated camera (reference §2.2, §2.10). */
import {
  getAtPath,
  type JsonValue,
  type PathSegment,
  parsePath,
  setAtPath,
  treeToKv,
} from "../protocol/kv.ts";
import { type CameraHandler, replyBody, replyKv, replyOk, replyUnsupported } from "./cgi-request.ts";
import { styledJson } from "./event-framing.ts";

export const handleConfigManager: CameraHandler = async (camera, { res, action, params, entries }) => {
  const style = camera.profile.errorStyle;
  if (action === "getConfig") {
    const name = params.get("name") ?? "";
    if (name === "") return replyUnsupported(res, style);
    if (name === "All") return replyKv(res, treeToKv(camera.config, ["table"]));
    const segments = parsePath(name);
    const subtree = getAtPath(camera.config, segments);
    if (subtree === undefined) return replyUnsupported(res, style);
    return replyKv(res, treeToKv(subtree, ["table", ...segments]));
  }
  if (action === "setConfig") {
    const changes: [PathSegment[], JsonValue][] = [];
    for (const [key, raw] of entries) {
      if (key === "action") continue;
      const segments = parsePath(key);
      const current = getAtPath(camera.config, segments);
      // `Key=` (empty) answers OK and changes nothing; a space sent as %20 is trimmed (NV4116-HS, aiodahua).
      const text = raw.trim();
      if (raw === "") {
        if (current === undefined && !canExtend(camera.config, segments)) return replyUnsupported(res, style);
        continue;
      }
      const value = typedLike(current, text, camera.config, segments);
      if (value === undefined) return replyUnsupported(res, style);
      changes.push([segments, value]);
    }
    if (changes.length === 0 && entries.filter(([k]) => k !== "action").length === 0) {
      return replyUnsupported(res, style);
    }
    // All pairs are checked before any is applied: a rejected request changes nothing.
    for (const [segments, value] of changes) setAtPath(camera.config, segments, value);
    await camera.configChanged();
    return replyOk(res);
  }
  return replyUnsupported(res, style);
};

/** Converts the text to the type the setting already has; undefined when the name or value is not accepted. */
function typedLike(
  current: JsonValue | undefined,
  text: string,
  root: JsonValue,
  segments: PathSegment[],
): JsonValue | undefined {
  if (current === undefined) return canExtend(root, segments) ? text : undefined;
  if (current !== null && typeof current === "object") return undefined;
  if (typeof current === "boolean") return text === "true" ? true : text === "false" ? false : undefined;
  if (typeof current === "number") {
    const value = Number(text);
    return text !== "" && Number.isFinite(value) ? value : undefined;
  }
  return text;
}

/** A new element right after the end of an existing array of scalars (e.g. another `Receivers[n]`). */
function canExtend(root: JsonValue, segments: PathSegment[]): boolean {
  const last = segments[segments.length - 1];
  if (typeof last !== "number") return false;
  const parent = getAtPath(root, segments.slice(0, -1));
  return (
    Array.isArray(parent) &&
    last === parent.length &&
    parent.every((v) => v === null || typeof v !== "object")
  );
}

export const handleConfigBackup: CameraHandler = (camera, { res, action }) => {
  if (action !== "All" || !camera.profile.configBackup)
    return replyUnsupported(res, camera.profile.errorStyle);
  // The export is pretty-printed JSON keyed by config name (jantman 2018, python-amcrest config_backup),
  // written by the same jsoncpp writer as the event data. [INFERRED] the download headers.
  res.setHeader("Content-Disposition", 'attachment; filename="configFileExport.backup"');
  replyBody(res, 200, `${styledJson(camera.config)}\n`, "application/octet-stream");
};
