/**
 * The CGI text bodies: `key=value` lines (CRLF or LF), keys like `table.Encode[0].MainFormat[0].Video.FPS`,
 * to and from JSON trees.
 *
 * Grammar as devices send it (reference §2.0): split on the first `=` (values may contain `=`), blank lines
 * may appear, and NVR log bodies have continuation lines without `=` that belong to the previous value
 * (NV4116-HS / LTN6416 `log.cgi?action=doFind`, reference §2.9).
 */

export type KvEntry = readonly [key: string, value: string];

export function parseKvLines(body: string): KvEntry[] {
  const entries: [string, string][] = [];
  for (const rawLine of body.split(/\r?\n/)) {
    const line = rawLine.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const eq = line.indexOf("=");
    if (eq < 0) {
      const previous = entries[entries.length - 1];
      if (previous) previous[1] = `${previous[1]}\n${line}`;
      else entries.push([line.trim(), ""]);
      continue;
    }
    entries.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return entries;
}

export function formatKvLines(entries: Iterable<KvEntry>): string {
  let out = "";
  for (const [key, value] of entries) out += `${key}=${value}\r\n`;
  return out;
}

export type PathSegment = string | number;

/** `table.Encode[0].MainFormat[0].Video.FPS` → ["table","Encode",0,"MainFormat",0,"Video","FPS"]. */
export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  const pattern = /([^.[\]]+)|\[(\d+)\]/g;
  for (const match of path.matchAll(pattern)) {
    if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(match[1] as string);
  }
  return segments;
}

export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Text values become booleans and numbers only where that round-trips exactly (`true`, `25`, `-1.5`), so
 * serial numbers such as `0012` and floats printed as `997703680.000000` stay strings.
 */
export function coerceScalar(text: string): string | number | boolean {
  if (text === "true") return true;
  if (text === "false") return false;
  if (/^-?(0|[1-9]\d{0,14})(\.\d*[1-9])?$/.test(text)) return Number(text);
  return text;
}

export interface KvTreeOptions {
  /** Convert `true`/`false` and canonical numbers (default true). */
  coerce?: boolean;
  /** Drop this leading segment, e.g. `table` for configManager bodies. */
  stripPrefix?: string;
}

/** Builds a nested tree from key/value lines; `[n]` makes arrays, dotted names make objects. */
export function kvToTree(entries: Iterable<KvEntry>, options: KvTreeOptions = {}): JsonObject {
  const coerce = options.coerce ?? true;
  const root: JsonObject = {};
  for (const [key, text] of entries) {
    let segments = parsePath(key);
    if (options.stripPrefix !== undefined && segments[0] === options.stripPrefix)
      segments = segments.slice(1);
    if (segments.length === 0) continue;
    setAtPath(root, segments, coerce ? coerceScalar(text) : text);
  }
  return root;
}

/** Sets a value, creating arrays for numeric segments and objects for names along the way. */
export function setAtPath(root: JsonObject, segments: readonly PathSegment[], value: JsonValue): void {
  let node: JsonValue = root;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as PathSegment;
    const last = i === segments.length - 1;
    const container = node as Record<string | number, JsonValue>;
    if (last) {
      container[segment] = value;
      return;
    }
    const nextIsIndex = typeof segments[i + 1] === "number";
    let child = container[segment];
    if (child === undefined || child === null || typeof child !== "object") {
      child = nextIsIndex ? [] : {};
      container[segment] = child;
    }
    node = child;
  }
}

export function getAtPath(root: JsonValue, segments: readonly PathSegment[]): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const segment of segments) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, JsonValue>)[segment];
    if (node === undefined) return undefined;
  }
  return node;
}

/** The inverse of kvToTree: leaves as `key=value` entries in document order; sparse array holes skipped. */
export function treeToKv(tree: JsonValue, prefix: readonly PathSegment[] = []): KvEntry[] {
  const entries: KvEntry[] = [];
  const walk = (node: JsonValue, path: PathSegment[]): void => {
    if (Array.isArray(node)) {
      node.forEach((child, index) => {
        if (child !== undefined) walk(child, [...path, index]);
      });
    } else if (node !== null && typeof node === "object") {
      for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
    } else {
      entries.push([formatPath(path), node === null ? "" : String(node)]);
    }
  };
  walk(tree, [...prefix]);
  return entries;
}
