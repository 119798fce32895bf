/**
 * What a config reload changes: which cameras are added, removed, or changed (and how), whether the users
 * changed, and which other changes wait for a restart. No I/O; `app.ts` applies the plan.
 *
 * Cameras and users are applied live, because those are what owners change while others watch: a camera
 * that only got a new name or new credentials keeps its connections; any other change re-creates that camera
 * alone. The listeners, TLS, storage, the event pipeline and the brokers are wired once at start, so a change
 * there is reported as needing a restart (and the running value stays), never half-applied.
 */
import { isDeepStrictEqual } from "node:util";
import type { CameraConfig, Config } from "./schema.ts";

export interface ReloadPlan {
  added: CameraConfig[];
  removed: string[];
  /** Re-created (their streams reconnect): any change but the name and credentials. */
  reconfigured: CameraConfig[];
  /** Only what is displayed changed: the name, the groups. */
  renamed: CameraConfig[];
  /** Only the camera's username or password changed: new logins, no reconnect. */
  credentials: CameraConfig[];
  /** camgate's motion detection of the camera changed (zones, masks, thresholds): no reconnect. */
  retuned: CameraConfig[];
  usersChanged: boolean;
  /** Config paths whose new value applies at the next restart. */
  needsRestart: string[];
}

const LIVE_SECTIONS = new Set(["cameras", "users"]);

function without<T extends object>(value: T, keys: readonly (keyof T)[]): Partial<T> {
  const copy: Partial<T> = { ...value };
  for (const key of keys) delete copy[key];
  return copy;
}

export function planReload(current: Config, next: Config): ReloadPlan {
  const plan: ReloadPlan = {
    added: [],
    removed: [],
    reconfigured: [],
    renamed: [],
    credentials: [],
    retuned: [],
    usersChanged: !isDeepStrictEqual(current.users, next.users),
    needsRestart: [],
  };
  for (const section of Object.keys(next) as (keyof Config)[]) {
    if (LIVE_SECTIONS.has(section)) continue;
    if (!isDeepStrictEqual(current[section], next[section])) plan.needsRestart.push(section);
  }
  const before = new Map(current.cameras.map((camera) => [camera.id, camera]));
  const after = new Map(next.cameras.map((camera) => [camera.id, camera]));
  for (const id of before.keys()) if (!after.has(id)) plan.removed.push(id);
  for (const [id, camera] of after) {
    const old = before.get(id);
    if (!old) {
      plan.added.push(camera);
      continue;
    }
    if (isDeepStrictEqual(old, camera)) continue;
    const rest = (c: CameraConfig) => without(c, ["name", "groups", "username", "password", "motion"]);
    if (!isDeepStrictEqual(rest(old), rest(camera))) {
      plan.reconfigured.push(camera);
      continue;
    }
    if (!isDeepStrictEqual(old.motion, camera.motion)) plan.retuned.push(camera);
    if (isDeepStrictEqual(without(old, ["motion"]), without(camera, ["motion"]))) continue;
    if (old.username !== camera.username || old.password !== camera.password) {
      plan.credentials.push(camera);
      if (old.name !== camera.name || !isDeepStrictEqual(old.groups, camera.groups))
        plan.renamed.push(camera);
    } else plan.renamed.push(camera);
  }
  // camgate's RTSP server binds a camera's own RTSP port once, at start.
  for (const camera of [...plan.added, ...plan.reconfigured]) {
    const old = before.get(camera.id);
    if (camera.rtspPassthroughPort !== old?.rtspPassthroughPort)
      plan.needsRestart.push(`cameras.${camera.id}.rtspPassthroughPort`);
  }
  for (const id of plan.removed)
    if (before.get(id)?.rtspPassthroughPort !== undefined)
      plan.needsRestart.push(`cameras.${id}.rtspPassthroughPort`);
  return plan;
}

/** What a reload did, camera ids per kind (the API answer and the log line). */
export interface ReloadSummary {
  added: string[];
  removed: string[];
  reconfigured: string[];
  renamed: string[];
  credentials: string[];
  retuned: string[];
  usersChanged: boolean;
  /** What changed but applies only at the next restart. */
  needsRestart: string[];
}

/** A reload was asked of a camgate started without a config file (the demo, tests). */
export class NoConfigFileError extends Error {
  readonly code = "no-config-file";
  constructor() {
    super("camgate runs without a config file (the demo): there is nothing to reload");
    this.name = "NoConfigFileError";
  }
}

/** True when the plan changes nothing that runs. */
export function planIsEmpty(plan: ReloadPlan): boolean {
  return (
    plan.added.length +
      plan.removed.length +
      plan.reconfigured.length +
      plan.renamed.length +
      plan.credentials.length +
      plan.retuned.length ===
      0 && !plan.usersChanged
  );
}
