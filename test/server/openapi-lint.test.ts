/**
 * The OpenAPI document lints clean with a standard linter: Redocly's `recommended-strict` ruleset (the rules
 * of `@redocly/cli lint`: a valid 3.1 document, operationId on every operation, servers, 2XX and 4XX
 * answers, a license), on the document a running gateway serves with every optional part switched on.
 */
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

describe("OpenAPI document", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
      server: { rtsp: { listen: "127.0.0.1:0" } },
    });
  });

  afterAll(async () => {
    await gw?.close();
  });

  it("passes Redocly's recommended-strict rules, with unique operationIds", async () => {
    const source = await (await fetch(`${gw.url}/api/v1/openapi.json`)).text();
    const config = await createConfig({ extends: ["recommended-strict"] });
    const problems = await lintFromString({ source, absoluteRef: "openapi.json", config });
    expect(problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? "?"}`)).toEqual([]);
    const document = JSON.parse(source) as { paths: Record<string, Record<string, { operationId: string }>> };
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    expect(ids.length).toBeGreaterThan(30);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain("getCamerasByIdSnapshotJpg");
    expect(ids).toContain("postConfigReload");
  });
});
