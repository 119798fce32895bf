/**
 * docs/configuration.md documents every key of the config schema: the test walks the zod schema and fails
 * on a key that no table names (a new key without its documentation, or a renamed one).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { configSchema } from "../../src/config/schema.ts";

type Node = z.core.$ZodType;

/** The schema under wrappers that do not change the shape (optional, default, refine, transform). */
function unwrap(node: Node): Node {
  const def = node._zod.def as z.core.$ZodTypeDef & { innerType?: Node; in?: Node; out?: Node };
  switch (def.type) {
    case "optional":
    case "default":
    case "prefault":
    case "nullable":
    case "readonly":
      return def.innerType ? unwrap(def.innerType) : node;
    case "pipe":
      return def.in && def.in._zod.def.type !== "transform"
        ? unwrap(def.in)
        : def.out
          ? unwrap(def.out)
          : node;
    default:
      return node;
  }
}

function shapeOf(node: Node): Record<string, Node> | undefined {
  const inner = unwrap(node);
  return inner._zod.def.type === "object" ? (inner._zod.def as z.core.$ZodObjectDef).shape : undefined;
}

function elementOf(node: Node): Node | undefined {
  const inner = unwrap(node);
  return inner._zod.def.type === "array" ? (inner._zod.def as z.core.$ZodArrayDef).element : undefined;
}

/** Dotted key paths inside one section; arrays inside a section are one key (their items are described). */
function keysOf(node: Node, prefix = ""): string[] {
  const shape = shapeOf(node);
  if (!shape) return [prefix];
  return Object.entries(shape).flatMap(([key, child]) => keysOf(child, prefix ? `${prefix}.${key}` : key));
}

/** Every section and its keys: `server` → listen, tls.cert, ...; `cameras[]` → id, url, ... */
function schemaSections(): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  for (const [name, child] of Object.entries(shapeOf(configSchema) ?? {})) {
    const element = elementOf(child);
    if (element) sections.set(`${name}[]`, keysOf(element));
    else sections.set(name, keysOf(child));
  }
  return sections;
}

/** The keys each `### \`section\`` table names in its first column; `a.b`, `c` in one cell is a.b and a.c. */
function documentedSections(markdown: string): Map<string, Set<string>> {
  const sections = new Map<string, Set<string>>();
  let current: Set<string> | undefined;
  for (const line of markdown.split("\n")) {
    const heading = /^### `([^`]+)`/.exec(line);
    if (heading?.[1]) {
      current = new Set();
      sections.set(heading[1], current);
      continue;
    }
    if (!current || !line.startsWith("|")) continue;
    const firstCell = line.split("|")[1] ?? "";
    let parent = "";
    for (const [, token = ""] of firstCell.matchAll(/`([^`]+)`/g)) {
      const dot = token.lastIndexOf(".");
      if (dot >= 0) parent = token.slice(0, dot + 1);
      current.add(dot >= 0 ? token : `${parent}${token}`);
    }
  }
  return sections;
}

describe("docs/configuration.md", () => {
  const documented = documentedSections(readFileSync("docs/configuration.md", "utf8"));

  it("has a section for every top-level key and a row for every key in it", () => {
    // The walk itself reaches nested keys and array items (else this test could not fail).
    expect(schemaSections().get("server")).toContain("rtsp.viewerBacklogBytes");
    expect(schemaSections().get("cameras[]")).toContain("events.codes");
    const missing: string[] = [];
    for (const [section, keys] of schemaSections()) {
      const rows = documented.get(section);
      if (!rows) {
        missing.push(`### \`${section}\``);
        continue;
      }
      for (const key of keys) if (!rows.has(key)) missing.push(`${section}: ${key}`);
    }
    expect(missing).toEqual([]);
  });

  it("documents no key the schema does not have", () => {
    const sections = schemaSections();
    const stale: string[] = [];
    for (const [section, rows] of documented) {
      const keys = new Set(sections.get(section) ?? []);
      for (const row of rows) if (!keys.has(row)) stale.push(`${section}: ${row}`);
    }
    expect(stale).toEqual([]);
  });
});
