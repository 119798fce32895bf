import { configDefaults, defineConfig } from "vitest/config";

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
  "test/audit/audit.test.ts",
];

/**
 * The install from `npm pack` compiles better-sqlite3 (about two minutes of node-gyp on two cores): it runs
 * apart, `npm run test:pack`, as its own step of .ci/run, not inside `npm test`.
 */
const PACK = "test/contrib/pack.test.ts";

// The JSON report is what .ci/run turns into the plain "N passed, N failed" line (one per step).
export default defineConfig({
  test: {
    reporters: [
      "default",
      ["json", { outputFile: process.env.CAMGATE_TEST_REPORT ?? "reports/vitest.json" }],
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Two test files at a time on this two-core machine: most of a test's time is waiting on sockets and
    // timers, and every test is steady beside another (and beside a CPU hog).
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: "default", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, PACK] },
      },
      { extends: true, test: { name: "pack", include: [PACK] } },
      {
        extends: true,
        test: { name: "postgres", include: ON_POSTGRES_TOO, env: { CAMGATE_TEST_STORE: "postgres" } },
      },
    ],
  },
});
