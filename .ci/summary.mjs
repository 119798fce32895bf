// Prints "N passed, N failed, N skipped" from vitest's JSON report (CI does not read vitest's own summary),
// plus the soak (argv[3]: "passed" or "failed") as one more check when it ran.
import { readFileSync } from "node:fs";

const file = process.argv[2] ?? "reports/vitest.json";
let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (error) {
  console.log(`no test report at ${file}: ${error.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const soak = process.argv[3];
const passed = (report.numPassedTests ?? 0) + (soak === "passed" ? 1 : 0);
// A test file that failed without any failed test (it did not load, or a hook failed) counts as one failure.
const brokenFiles = (report.testResults ?? []).filter(
  (result) =>
    result.status === "failed" && !(result.assertionResults ?? []).some((a) => a.status === "failed"),
).length;
const failed = (report.numFailedTests ?? 0) + brokenFiles + (soak === "failed" ? 1 : 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
