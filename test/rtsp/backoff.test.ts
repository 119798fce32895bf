/**
 * Every long-lived upstream backs off and says why (issue 27): a camera whose RTSP fails at DESCRIBE,
 * SETUP or PLAY, while a viewer keeps asking for the stream (as ffmpeg and NVRs retry), gets a handful of
 * connections, not one per viewer attempt; the stream's state names the camera's answer, and the log says
 * it once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { FailingRtspCamera } from "../helpers/hostile-rtsp.ts";
import { RawRtspClient } from "../helpers/rtsp.ts";

const STEPS = ["DESCRIBE", "SETUP", "PLAY"] as const;
const WINDOW_MS = 10_000;

let gateway: TestGateway;
const cameras = new Map<string, FailingRtspCamera>();

beforeAll(async () => {
  for (const step of STEPS) {
    const camera = new FailingRtspCamera(step);
    await camera.start();
    cameras.set(step.toLowerCase(), camera);
  }
  gateway = await startTestGateway({
    cameras: STEPS.map((step) => ({
      id: step.toLowerCase(),
      profile: "amcrest-ip2m-841b" as const,
      config: { rtsp: { port: cameras.get(step.toLowerCase())?.port } },
    })),
    server: { rtsp: { listen: "127.0.0.1:0" } },
    relay: { lingerMs: 100 },
  });
});

afterAll(async () => {
  await gateway?.close();
  for (const camera of cameras.values()) await camera.stop();
});

/** A viewer asking for the stream again and again for `ms`, as a client that retries does. */
async function keepAsking(port: number, camera: string, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let asked = 0;
  while (Date.now() < until) {
    const client = new RawRtspClient(port);
    try {
      await client.request("DESCRIBE", `rtsp://127.0.0.1:${port}/${camera}`);
    } catch {
      // Refused or cut: asked all the same.
    } finally {
      client.close();
    }
    asked++;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return asked;
}

describe("a camera that fails the same step every time", () => {
  it("gets a handful of connections in 10 s of a viewer retrying, with the reason in the stream's state and one log line", async () => {
    const port = Number(new URL(gateway.camgate.rtspUrl ?? "").port);
    const asked = await Promise.all(STEPS.map((step) => keepAsking(port, step.toLowerCase(), WINDOW_MS)));
    for (const [i, step] of STEPS.entries()) {
      const id = step.toLowerCase();
      const connections = cameras.get(id)?.connections ?? 0;
      // Attempts at 0, 1, 3 and 7 s (1 s doubling, capped at 5 s while watched), early retries at most
      // every 5 s: about 5; before, one per viewer attempt.
      expect(asked[i]).toBeGreaterThan(20);
      expect(connections, `${step}: ${connections} connections for ${asked[i]} requests`).toBeLessThanOrEqual(
        7,
      );
      const response = await fetch(`${gateway.url}/api/v1/cameras/${id}/streams`);
      const body = (await response.json()) as { streams: { name: string; lastError?: string }[] };
      const main = body.streams.find((stream) => stream.name === "main");
      expect(main?.lastError).toMatch(new RegExp(`${step}( video)? answered 404`));
      const said = gateway
        .logs()
        .split("\n")
        .filter((line) => line.includes("RTSP stream down") && line.includes(`"camera":"${id}"`));
      expect(said).toHaveLength(1);
      expect(gateway.camgate.cameras.get(id)?.session.getHealth().state).toBe("online");
    }
  }, 30_000);
});
