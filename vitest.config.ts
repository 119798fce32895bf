import { defineConfig } from "vitest/config";

// The JSON report is what .ci/run turns into the plain "N passed, N failed" line.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: "reports/vitest.json" }]],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
