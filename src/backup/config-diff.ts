/** Differences between two config versions, by config path (added, removed, changed), plus a unified diff. */
import { createTwoFilesPatch } from "diff";
import { type JsonValue, treeToKv } from "../protocol/kv.ts";

export interface ConfigChange {
  path: string;
  kind: "added" | "removed" | "changed";
  old?: string;
  new?: string;
}

function leaves(tree: JsonValue): Map<string, string> {
  return new Map(treeToKv(tree));
}

export function diffConfigs(before: JsonValue, after: JsonValue): ConfigChange[] {
  const a = leaves(before);
  const b = leaves(after);
  const changes: ConfigChange[] = [];
  for (const [path, value] of b) {
    if (!a.has(path)) changes.push({ path, kind: "added", new: value });
    else if (a.get(path) !== value)
      changes.push({ path, kind: "changed", old: a.get(path) as string, new: value });
  }
  for (const [path, value] of a) if (!b.has(path)) changes.push({ path, kind: "removed", old: value });
  return changes.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** The top-level sections (General, Encode, ...) touched by a set of changes. */
export function changedSections(changes: readonly ConfigChange[]): string[] {
  return [...new Set(changes.map((c) => c.path.split(/[.[]/)[0] as string))].sort();
}

export function unifiedDiff(
  name: string,
  before: string,
  after: string,
  fromLabel: string,
  toLabel: string,
): string {
  return createTwoFilesPatch(`a/${name}`, `b/${name}`, before, after, fromLabel, toLabel, { context: 3 });
}
