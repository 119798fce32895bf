/**
 * Changes to `camgate.yaml` made from the UI or the API, applied to the YAML document itself (the `yaml`
 * package's Document API), so the owner's comments, order, anchors and `${ENV}` references stay as they
 * were: only the camera or user changed is touched. No I/O; `config-file-writer.ts` reads, validates and
 * writes.
 */
import { type Document, isMap, isScalar, isSeq, type YAMLMap, type YAMLSeq } from "yaml";

/** A secret as it goes into the file: a reference, never a value (`config-file-writer.ts` stores values). */
export type SecretReference = { env: string } | { file: string } | { hash: string };

export interface CameraFields {
  name?: string | undefined;
  /** The live wall's groups; an empty list removes the key. */
  groups?: string[];
  url?: string;
  username?: string;
  password?: SecretReference;
  passthroughPort?: number | null;
  /** The camera's RTSP port (`rtsp.port`; null: the default, 554). */
  rtspPort?: number | null;
  /** camgate's motion detection of it (`motion.*`): on or off, its use, zones and masks (an empty list removes the key). */
  motion?: {
    enabled?: boolean;
    use?: "confirm" | "detect";
    zones?: { name: string; points: [number, number][] }[];
    masks?: [number, number][][];
  };
}

export interface UserFields {
  role?: "viewer" | "operator" | "admin";
  password?: SecretReference;
  /** Camera ids, or `["*"]`. */
  cameras?: string[];
}

/** Why an edit cannot be made (a typed code, and a sentence for people). */
export class ConfigEditError extends Error {
  constructor(
    readonly code: "not-found" | "exists" | "last-admin" | "not-editable",
    message: string,
  ) {
    super(message);
    this.name = "ConfigEditError";
  }
}

function referenceText(secret: SecretReference): string {
  if ("env" in secret) return `\${${secret.env}}`;
  if ("file" in secret) return `\${file:${secret.file}}`;
  return secret.hash;
}

/** The top-level list `key` (made when absent); a non-list there cannot be edited safely. */
export function listAt(doc: Document, key: string): YAMLSeq {
  const node = doc.get(key, true);
  if (node === undefined || (isScalar(node) && node.value === null)) {
    const list = doc.createNode([]) as YAMLSeq;
    doc.set(key, list);
    return list;
  }
  if (!isSeq(node)) throw new ConfigEditError("not-editable", `${key} in the file is not a list`);
  // `users: []` grows into a list of blocks, as every other list of the file is written.
  if (node.items.length === 0) node.flow = false;
  return node;
}

function indexBy(list: YAMLSeq, field: string, value: string): number {
  return list.items.findIndex((item) => isMap(item) && String(item.get(field)) === value);
}

/** Sets each field (a dotted key reaches into a nested map, made when absent); null removes it. */
function setFields(item: YAMLMap, fields: Record<string, unknown>, doc: Document): void {
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const path = key.split(".");
    if (value === null) {
      const parent = path.length > 1 ? item.getIn(path.slice(0, -1), true) : item;
      if (!isMap(parent)) continue; // nothing there to remove
      parent.delete(path[path.length - 1]);
      // A nested map left empty goes too (`rtsp: {}` says nothing).
      if (parent !== item && parent.items.length === 0) item.deleteIn(path.slice(0, -1));
    } else if (path.length > 1 && !isMap(item.getIn(path.slice(0, -1), true)))
      item.setIn(path.slice(0, -1), doc.createNode({ [path[path.length - 1] as string]: value }));
    else item.setIn(path, doc.createNode(value));
  }
}

function cameraValues(fields: CameraFields): Record<string, unknown> {
  return {
    name: fields.name,
    groups: fields.groups?.length === 0 ? null : fields.groups,
    url: fields.url,
    username: fields.username,
    password: fields.password ? referenceText(fields.password) : undefined,
    passthroughPort: fields.passthroughPort,
    "rtsp.port": fields.rtspPort,
    "motion.enabled": fields.motion?.enabled,
    "motion.use": fields.motion?.use,
    "motion.zones": fields.motion?.zones?.length === 0 ? null : fields.motion?.zones,
    "motion.masks": fields.motion?.masks?.length === 0 ? null : fields.motion?.masks,
  };
}

export function addCamera(doc: Document, id: string, fields: CameraFields): void {
  const cameras = listAt(doc, "cameras");
  if (indexBy(cameras, "id", id) >= 0) throw new ConfigEditError("exists", `a camera "${id}" exists already`);
  const item = doc.createNode({ id }) as YAMLMap;
  setFields(item, cameraValues(fields), doc);
  cameras.items.push(item);
}

export function updateCamera(doc: Document, id: string, fields: CameraFields): void {
  const cameras = listAt(doc, "cameras");
  const at = indexBy(cameras, "id", id);
  if (at < 0) throw new ConfigEditError("not-found", `no camera "${id}" in the config`);
  setFields(cameras.items[at] as YAMLMap, cameraValues(fields), doc);
}

export function removeCamera(doc: Document, id: string): void {
  const cameras = listAt(doc, "cameras");
  const at = indexBy(cameras, "id", id);
  if (at < 0) throw new ConfigEditError("not-found", `no camera "${id}" in the config`);
  cameras.items.splice(at, 1);
}

function isAdmin(item: unknown): boolean {
  return isMap(item) && String(item.get("role")) === "admin";
}

/** Adds the user, or changes the given fields of an existing one. */
export function setUser(doc: Document, name: string, fields: UserFields): "added" | "changed" {
  const users = listAt(doc, "users");
  const at = indexBy(users, "name", name);
  const values = {
    role: fields.role,
    password: fields.password ? referenceText(fields.password) : undefined,
    cameras: fields.cameras,
  };
  if (at < 0) {
    const item = doc.createNode({ name }) as YAMLMap;
    setFields(item, values, doc);
    users.items.push(item);
    return "added";
  }
  const item = users.items[at] as YAMLMap;
  // The last admin cannot be made something less: nobody could change the config from the UI again.
  if (fields.role !== undefined && fields.role !== "admin" && isAdmin(item) && admins(users) === 1)
    throw new ConfigEditError("last-admin", `${name} is the last admin; make another user admin first`);
  setFields(item, values, doc);
  return "changed";
}

function admins(users: YAMLSeq): number {
  return users.items.filter(isAdmin).length;
}

export function removeUser(doc: Document, name: string): void {
  const users = listAt(doc, "users");
  const at = indexBy(users, "name", name);
  if (at < 0) throw new ConfigEditError("not-found", `no user "${name}" in the config`);
  if (isAdmin(users.items[at]) && admins(users) === 1)
    throw new ConfigEditError("last-admin", `${name} is the last admin; make another user admin first`);
  users.items.splice(at, 1);
}
