/**
 * Every long-lived upstream backs off and says why (issue 27), not only RTSP: a camera whose MJPEG stream
 * sends one picture and hangs up, and whose event stream answers and hangs up, while a viewer watches, gets
 * a handful of connections, one log line per stream, and the reason in the camera's summary. Before, each
 * answer reset the backoff and camgate asked again every second, without a word.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";

const WINDOW_MS = 10_000;
const MJPEG = "/cgi-bin/mjpg/video.cgi";
const EVENTS = "/cgi-bin/eventManager.cgi";

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    cameras: [{ id: "flappy", profile: "amcrest-ip2m-841b" }],
    events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
  });
});

afterAll(async () => {
  await gateway?.close();
});

function camera() {
  const handle = gateway.cameras.get("flappy");
  if (!handle) throw new Error("no camera");
  return handle.control;
}

interface Upstream {
  kind: string;
  name: string;
  state: string;
  reason?: string;
}

describe("a camera whose streams answer and hang up", () => {
  it("gets a handful of connections per stream while a viewer watches, one log line each, and the reason", async () => {
    camera().dropStreamsAfter(1);
    camera().hangUpEventStreams();
    const before = { ...camera().counters().requestsByPath };
    const viewer = new AbortController();
    const response = await fetch(`${gateway.url}/api/v1/cameras/flappy/stream.mjpeg`, {
      signal: viewer.signal,
    });
    const reading = response.body?.pipeTo(new WritableStream()).catch(() => {});
    const seen = new Map<string, Upstream>();
    const until = Date.now() + WINDOW_MS;
    // The summary while it happens: each stream is seen down with the camera's answer at some point.
    await waitFor(
      async () => {
        const summary = (await (await fetch(`${gateway.url}/api/v1/cameras/flappy`)).json()) as {
          health: { state: string };
          upstreams: Upstream[];
        };
        expect(summary.health.state).toBe("online");
        for (const upstream of summary.upstreams)
          if (upstream.state === "down") seen.set(upstream.kind, upstream);
        return Date.now() > until ? true : undefined;
      },
      WINDOW_MS + 5000,
      "the window",
    );
    viewer.abort();
    await reading;
    const after = camera().counters().requestsByPath;
    const asked = (path: string) => (after[path] ?? 0) - (before[path] ?? 0);
    // Attempts at about 0, 1, 3 and 7 s (1 s doubling, 5 s at most while watched; 30 s for events): 4 or 5
    // each; before, one a second.
    expect(asked(MJPEG), "MJPEG connections").toBeLessThanOrEqual(6);
    expect(asked(EVENTS), "event stream connections (catch-up queries included)").toBeLessThanOrEqual(8);
    expect(seen.get("mjpeg")?.reason).toMatch(/ended|closed/);
    expect(seen.get("events")?.reason).toMatch(/ended|closed/);
    const lines = gateway.logs().split("\n");
    expect(lines.filter((line) => line.includes("MJPEG stream down"))).toHaveLength(1);
    expect(lines.filter((line) => line.includes("event stream down"))).toHaveLength(1);
  });
});
