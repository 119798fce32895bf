/**
 * `npm run bench [-- name ...]`: runs the benchmarks one after the other (they share this 2-core machine, so
 * never in parallel), prints each table with its ratios and targets, and writes a JSON summary.
 */
import { type BenchResult, printResult, writeSummary } from "./report.ts";

const BENCHES: Record<string, () => Promise<{ run: () => Promise<BenchResult> }>> = {
  "emulator-frames": () => import("./emulator-frames.ts"),
  "camera-client": () => import("./camera-client.ts"),
  passthrough: () => import("./passthrough.ts"),
  relay: () => import("./relay.ts"),
  events: () => import("./events.ts"),
  idle: () => import("./idle.ts"),
  rtsp: () => import("./rtsp.ts"),
  browser: () => import("./browser.ts"),
  recording: () => import("./recording.ts"),
  export: () => import("./export.ts"),
  cluster: () => import("./cluster.ts"),
  hls: () => import("./hls.ts"),
  backfill: () => import("./backfill.ts"),
  motion: () => import("./motion.ts"),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark(s): ${unknown.join(", ")}; available: ${Object.keys(BENCHES).join(", ")}\n`,
  );
  process.exit(2);
}
const results: BenchResult[] = [];
for (const [name, load] of Object.entries(BENCHES)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const result = await (await load()).run();
  printResult(result);
  results.push(result);
}
const file = writeSummary(results);
process.stdout.write(
  `\nJSON summary: ${file}\n${JSON.stringify(results.map((r) => ({ name: r.name, ratios: r.ratios, targets: r.targets })))}\n`,
);
