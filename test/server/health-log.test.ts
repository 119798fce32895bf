/**
 * A camera going offline, coming back or refusing the password is one log line each, at warn or info, with
 * the camera's id and the reason (before, only the API could tell); every line is JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";

interface LogLine {
  level: number;
  msg: string;
  camera?: string;
  reason?: string;
  fix?: string;
  retryInSeconds?: number;
  after?: string;
}

describe("camera health in the log", () => {
  let gw: TestGateway;
  const lines = () =>
    gw
      .logs()
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LogLine);

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b" },
        { id: "garage", profile: "dahua-2024", config: { password: "not-the-password" } },
      ],
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("says offline and online again once each, with the camera and the reason", async () => {
    expect((await fetch(`${gw.url}/api/v1/cameras/dogs/time`)).status).toBe(200);
    await gw.cameras.get("dogs")?.control.stopListening();
    const offline = await waitFor(
      async () => {
        await fetch(`${gw.url}/api/v1/cameras/dogs/time`);
        return lines().find((l) => l.msg === "camera offline" && l.camera === "dogs");
      },
      15_000,
      "the offline line",
    );
    expect(offline.level).toBe(40);
    expect(offline.reason).toMatch(/unreachable|refused|ECONNREFUSED/);
    await gw.cameras.get("dogs")?.control.startListening();
    const online = await waitFor(
      async () => {
        await fetch(`${gw.url}/api/v1/cameras/dogs/time`);
        return lines().find((l) => l.msg === "camera online again" && l.camera === "dogs");
      },
      15_000,
      "the online line",
    );
    expect(online).toMatchObject({ level: 30, after: "offline" });
    expect(lines().filter((l) => l.msg === "camera offline" && l.camera === "dogs")).toHaveLength(1);
  });

  it("says a refused password at warn with the key to fix and when camgate tries again", async () => {
    expect((await fetch(`${gw.url}/api/v1/cameras/garage/time`)).status).toBe(502);
    const refused = await waitFor(
      () =>
        lines().find((l) => l.camera === "garage" && l.msg.startsWith("camera refused camgate's password")),
      10_000,
      "the refusal line",
    );
    expect(refused).toMatchObject({ level: 40, fix: "cameras.garage.password" });
    expect(refused.retryInSeconds).toBeGreaterThan(0);
    expect(refused.msg).toContain("does not lock you out");
  });
});
