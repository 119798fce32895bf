/**
 * The README's status table stays true: every capability it calls working names test files or folders that
 * exist and hold tests, and nothing is called working without them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

interface Row {
  capability: string;
  state: string;
  tests: string[];
}

function statusRows(readme: string): Row[] {
  const start = readme.indexOf("## Status");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  return section
    .split("\n")
    .filter((line) => line.startsWith("|") && !/^\|\s*(capability|-)/.test(line))
    .map((line) => {
      const [capability = "", state = "", tests = ""] = line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim());
      return { capability, state, tests: [...tests.matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? "") };
    });
}

function testFilesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return path.endsWith(".test.ts") ? [path] : [];
  return readdirSync(path).flatMap((entry) => testFilesUnder(join(path, entry)));
}

describe("README status table", () => {
  const rows = statusRows(readFileSync("README.md", "utf8"));

  it("lists the capabilities", () => {
    expect(rows.length).toBeGreaterThanOrEqual(8);
  });

  it("names existing tests for every capability it calls working", () => {
    const untested = rows
      .filter((row) => row.state.startsWith("working"))
      .filter((row) => row.tests.length === 0 || row.tests.some((path) => testFilesUnder(path).length === 0))
      .map((row) => row.capability);
    expect(untested).toEqual([]);
  });

  it("calls every row working or planned", () => {
    expect(rows.filter((row) => !/^(working|planned)/.test(row.state)).map((row) => row.capability)).toEqual(
      [],
    );
  });
});
