/**
 * Provisioning from templates: a map of config paths to values, e.g.
 *
 *   General.MachineName: "${camera.id}"
 *   NTP.Enable: true
 *   Encode[0].ExtraFormat[0].Video.Compression: MJPG
 *   Encode[0].ExtraFormat[0].Video.FPS: 5
 *
 * (nested YAML is flattened to the same paths). **Plan** reads the camera's config and lists exactly what
 * would change, touching nothing. **Apply** takes a backup first, sends `setConfig` in batches that respect
 * the firmware's encoding rules (spaces as %20, no `&`, a bounded URL), reads the config back, and reports
 * each path as applied, unchanged or rejected (with the camera's error). A partial failure is reported as
 * such; a plan run afterwards lists only what is still different.
 */
import { parse as parseYaml } from "yaml";
import { CameraError } from "../camera/errors.ts";
import type { CameraEntry } from "../camera/registry.ts";
import { buildTarget, DeviceArgumentError } from "../protocol/cgi-target.ts";
import { getAtPath, type JsonObject, type JsonValue, parsePath, treeToKv } from "../protocol/kv.ts";
import { isSecretPath, REDACTED } from "./normalise.ts";

export type Template = Record<string, string | number | boolean>;

export interface PlannedChange {
  path: string;
  old: string | null;
  new: string;
}

export interface Plan {
  camera: string;
  changes: PlannedChange[];
  unchanged: number;
  /** Paths the camera's firmware does not have, left out (`onlyExisting`): never sent. */
  skipped?: string[];
}

export interface PlanOptions {
  /** Leave out the paths the camera does not have, with a note, instead of planning them (the baseline). */
  onlyExisting?: boolean;
}

export interface ApplyResult {
  camera: string;
  backupCommit: string | undefined;
  ok: boolean;
  /** Paths the camera does not have, left out (`onlyExisting`). */
  skipped?: string[];
  results: { path: string; status: "applied" | "unchanged" | "rejected"; error?: string }[];
}

/** A template that cannot be used: not YAML or JSON, or not a map of config paths to values. */
export class TemplateError extends Error {
  readonly code = "invalid-template";
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

/** A template from YAML or JSON text: flat paths, or nested sections flattened to paths. */
export function parseTemplate(text: string): Template {
  let data: JsonValue;
  try {
    data = parseYaml(text) as JsonValue;
  } catch (error) {
    throw new TemplateError(
      `the template is not YAML or JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (data === null || typeof data !== "object" || Array.isArray(data))
    throw new TemplateError("a template is a map of config paths to values");
  const template: Template = {};
  for (const [key, value] of Object.entries(data)) {
    if (value !== null && typeof value === "object") {
      for (const [path, leaf] of treeToKv(value, parsePath(key))) template[path] = leaf;
    } else if (value !== null) {
      template[key] = value;
    }
  }
  return template;
}

/** `${camera.id}` and `${camera.name}` placeholders. */
export function resolveTemplate(template: Template, camera: { id: string; name: string }): Template {
  const resolved: Template = {};
  for (const [path, value] of Object.entries(template)) {
    resolved[path] =
      typeof value === "string"
        ? value.replace(/\$\{camera\.(id|name)\}/g, (_, key: "id" | "name") => camera[key])
        : value;
  }
  return resolved;
}

const display = (path: string, value: string | null) =>
  value !== null && isSecretPath(path) ? REDACTED : value;

export async function plan(entry: CameraEntry, template: Template, options: PlanOptions = {}): Promise<Plan> {
  const current = await entry.api.configBackup("interactive");
  return planAgainst(
    entry.id,
    current,
    resolveTemplate(template, { id: entry.id, name: entry.name }),
    options,
  );
}

export function planAgainst(
  camera: string,
  current: JsonObject,
  template: Template,
  options: PlanOptions = {},
): Plan {
  const changes: PlannedChange[] = [];
  const skipped: string[] = [];
  let unchanged = 0;
  for (const [path, value] of Object.entries(template)) {
    const now = getAtPath(current, parsePath(path));
    if (options.onlyExisting && (now === undefined || (now !== null && typeof now === "object"))) {
      skipped.push(path);
      continue;
    }
    const old = now === undefined || (now !== null && typeof now === "object") ? null : String(now);
    if (old === String(value)) unchanged++;
    else changes.push({ path, old, new: String(value) });
  }
  return { camera, changes, unchanged, ...(options.onlyExisting ? { skipped } : {}) };
}

/** The plan as shown to people: secret values masked. */
export function displayPlan(value: Plan): Plan {
  return {
    ...value,
    changes: value.changes.map((c) => ({
      path: c.path,
      old: display(c.path, c.old),
      new: display(c.path, c.new) ?? c.new,
    })),
  };
}

/** Keeps each setConfig request well under what firmware accepts in a request line. */
const MAX_TARGET_LENGTH = 1500;

function batches(changes: readonly PlannedChange[]): PlannedChange[][] {
  const result: PlannedChange[][] = [];
  let current: PlannedChange[] = [];
  for (const change of changes) {
    const next = [...current, change];
    const length = buildTarget("configManager.cgi", [
      ["action", "setConfig"],
      ...next.map((c): [string, string] => [c.path, c.new]),
    ]).length;
    if (current.length > 0 && length > MAX_TARGET_LENGTH) {
      result.push(current);
      current = [change];
    } else {
      current = next;
    }
  }
  if (current.length > 0) result.push(current);
  return result;
}

export async function apply(
  entry: CameraEntry,
  template: Template,
  backup: () => Promise<string | undefined>,
  options: PlanOptions = {},
): Promise<ApplyResult> {
  const planned = await plan(entry, template, options);
  const backupCommit = await backup();
  const errors = new Map<string, string>();
  const sendable: PlannedChange[] = [];
  for (const change of planned.changes) {
    try {
      buildTarget("configManager.cgi", [[change.path, change.new]]);
      sendable.push(change);
    } catch (error) {
      // A value no encoding can carry is reported for its path; the other paths still go.
      if (!(error instanceof DeviceArgumentError)) throw error;
      errors.set(change.path, error.message);
    }
  }
  for (const batch of batches(sendable)) {
    try {
      await entry.api.setConfig(Object.fromEntries(batch.map((c) => [c.path, c.new])));
    } catch (error) {
      if (!(error instanceof CameraError) || batch.length === 1) {
        for (const change of batch) errors.set(change.path, describe(error));
        continue;
      }
      // A firmware refuses the whole request for one bad pair: find it by sending them one at a time.
      for (const change of batch) {
        try {
          await entry.api.setConfig({ [change.path]: change.new });
        } catch (single) {
          errors.set(change.path, describe(single));
        }
      }
    }
  }
  const after = await entry.api.configBackup("interactive");
  const results: ApplyResult["results"] = [];
  const changed = new Set(planned.changes.map((c) => c.path));
  const skipped = new Set(planned.skipped ?? []);
  for (const path of Object.keys(template))
    if (!changed.has(path) && !skipped.has(path)) results.push({ path, status: "unchanged" });
  for (const change of planned.changes) {
    const now = getAtPath(after, parsePath(change.path));
    if (now !== undefined && String(now) === change.new)
      results.push({ path: change.path, status: "applied" });
    else
      results.push({
        path: change.path,
        status: "rejected",
        error: errors.get(change.path) ?? "the camera answered OK but did not keep the value",
      });
  }
  return {
    camera: entry.id,
    backupCommit,
    ok: results.every((r) => r.status !== "rejected"),
    results,
    ...(planned.skipped ? { skipped: planned.skipped } : {}),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A backup version as a template, for restore (redacted values are left out: the camera keeps its own). */
export function templateFromBackup(json: string): Template {
  const tree = JSON.parse(json) as JsonValue;
  const template: Template = {};
  for (const [path, value] of treeToKv(tree)) if (value !== REDACTED) template[path] = value;
  return template;
}
