// Prints "N passed, N failed, N skipped" from vitest's JSON reports (CI does not read vitest's own summary),
// plus the soak as one more check when it ran. Arguments: the soak ("passed", "failed" or "-"), then the
// reports, one per test step (a missing report counts as a failure).
import { readFileSync } from "node:fs";

const [soak = "-", ...files] = process.argv.slice(2);
let passed = soak === "passed" ? 1 : 0;
let failed = soak === "failed" ? 1 : 0;
let skipped = 0;
for (const file of files.length > 0 ? files : ["reports/vitest.json"]) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    console.log(`no test report at ${file}: ${error.message}`);
    failed++;
    continue;
  }
  passed += report.numPassedTests ?? 0;
  // A test file that failed without any failed test (it did not load, or a hook failed) counts as one failure.
  const brokenFiles = (report.testResults ?? []).filter(
    (result) =>
      result.status === "failed" && !(result.assertionResults ?? []).some((a) => a.status === "failed"),
  ).length;
  failed += (report.numFailedTests ?? 0) + brokenFiles;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
