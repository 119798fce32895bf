/** Shared shape and printing of benchmark results: a table, ratios, and a JSON summary on disk. */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";

export interface BenchResult {
  name: string;
  /** What was measured, on what, how: printed above the table. */
  setup: string;
  tables: { title: string; rows: Record<string, string | number>[] }[];
  /** Named ratios (comparison in the same run), e.g. `{ "1280x720 cost / 640x480 cost": 2.9 }`. */
  ratios: Record<string, number>;
  /** Targets and whether they were met. */
  targets: { target: string; met: boolean; value: string }[];
}

export function machine(): Record<string, string | number> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    platform: process.platform,
  };
}

export function printResult(result: BenchResult): void {
  const out = process.stdout;
  out.write(`\n## ${result.name}\n${result.setup}\n\n`);
  for (const table of result.tables) printTable(table.title, table.rows);
  if (Object.keys(result.ratios).length > 0) {
    out.write("\nratios:\n");
    for (const [name, value] of Object.entries(result.ratios)) out.write(`  ${name}: ${value.toFixed(3)}\n`);
  }
  for (const target of result.targets)
    out.write(`target: ${target.target}: ${target.value} ${target.met ? "(met)" : "(NOT met)"}\n`);
}

function printTable(title: string, rows: Record<string, string | number>[]): void {
  const out = process.stdout;
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: string | number | undefined) =>
    typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : (value ?? "");
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  out.write(`${title}\n`);
  out.write(`${columns.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")}\n`);
  for (const row of rows)
    out.write(`${columns.map((c, i) => cell(row[c]).padEnd(widths[i] ?? 0)).join("  ")}\n`);
  out.write("\n");
}

export function writeSummary(results: BenchResult[], directory = "bench/results"): string {
  mkdirSync(directory, { recursive: true });
  const file = `${directory}/summary-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  const summary = JSON.stringify({ at: new Date().toISOString(), machine: machine(), results }, null, 2);
  writeFileSync(file, summary);
  writeFileSync(`${directory}/latest.json`, summary);
  return file;
}
