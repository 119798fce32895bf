/**
 * Behind the documented trusted proxy (issue 28): failed logins are counted per forwarded client, so one
 * client's wrong passwords lock out that client and nobody else; a forwarded address from anyone but a
 * trusted proxy is never believed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});

async function status(gateway: TestGateway, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${gateway.url}/api/v1/cameras`, { headers });
  await response.arrayBuffer();
  return response.status;
}

describe("failed logins behind a trusted proxy", () => {
  let behind: TestGateway;
  let direct: TestGateway;
  beforeAll(async () => {
    const users = [{ name: "alice", role: "viewer", password: "alice-password-1177" }];
    const rateLimit = { failures: 3, windowSeconds: 60 };
    [behind, direct] = await Promise.all([
      startTestGateway({
        cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
        users,
        server: { trustedProxies: ["127.0.0.1"], authRateLimit: rateLimit },
      }),
      startTestGateway({
        cameras: [{ id: "cats", profile: "amcrest-ip2m-841b" }],
        users,
        server: { authRateLimit: rateLimit },
      }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([behind?.close(), direct?.close()]);
  });

  it("locks out the forwarded client that failed, and nobody else", async () => {
    const mallory = { "X-Forwarded-For": "198.51.100.7, 203.0.113.5" };
    const alice = { "X-Forwarded-For": "203.0.113.9" };
    for (let i = 0; i < 4; i++) await status(behind, { ...mallory, ...basic("alice", "wrong") });
    expect(await status(behind, { ...mallory, ...basic("alice", "alice-password-1177") })).toBe(429);
    // Another client behind the same balancer, and the balancer's own requests, still sign in.
    expect(await status(behind, { ...alice, ...basic("alice", "alice-password-1177") })).toBe(200);
    expect(await status(behind, basic("alice", "alice-password-1177"))).toBe(200);
    // The client's own part of the header is not believed: only the hop the proxy added counts.
    expect(
      await status(behind, {
        "X-Forwarded-For": "203.0.113.9, 203.0.113.5",
        ...basic("alice", "alice-password-1177"),
      }),
    ).toBe(429);
  });

  it("never believes a forwarded address from an address that is not a trusted proxy", async () => {
    for (let i = 0; i < 4; i++)
      await status(direct, { "X-Forwarded-For": `203.0.113.${i}`, ...basic("alice", "wrong") });
    // All four counted against 127.0.0.1, whatever each claimed.
    expect(
      await status(direct, { "X-Forwarded-For": "203.0.113.50", ...basic("alice", "alice-password-1177") }),
    ).toBe(429);
  });
});
