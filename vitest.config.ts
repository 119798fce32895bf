import { defineConfig } from "vitest/config";

/**
 * The gateway-level suites that exercise the shared store most, run a second time with every test gateway
 * on PostgreSQL (a lone instance of a cluster, `CAMGATE_TEST_STORE=postgres` in test/helpers/gateway.ts).
 * The whole suite passes that way too (`CAMGATE_TEST_STORE=postgres npx vitest run`); this part of it runs
 * on every `npm test`, the rest would double the suite's time.
 */
const ON_POSTGRES_TOO = [
  "test/events/pipeline.test.ts",
  "test/events/mail.test.ts",
  "test/events/mosquitto.test.ts",
  "test/server/rest-api.test.ts",
  "test/server/front-door.test.ts",
  "test/server/hardening.test.ts",
  "test/server/errors.test.ts",
  "test/recording/clips.test.ts",
  "test/recording/export.test.ts",
  "test/rtsp/refusals.test.ts",
  "test/backup/backup.test.ts",
];

// The JSON report is what .ci/run turns into the plain "N passed, N failed" line.
export default defineConfig({
  test: {
    reporters: ["default", ["json", { outputFile: "reports/vitest.json" }]],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    projects: [
      { extends: true, test: { name: "default", include: ["test/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "postgres", include: ON_POSTGRES_TOO, env: { CAMGATE_TEST_STORE: "postgres" } },
      },
    ],
  },
});
