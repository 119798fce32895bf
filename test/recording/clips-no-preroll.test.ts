/**
 * Event clips with `recording.clips.preRoll: none`: no camera session is held while nothing happens; an
 * incident opens the main stream, its clip is written from the stream's first keyframe, and the stream is
 * let go once the clip is done (the hub's lingering then ends the camera session).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { SseClient } from "../helpers/sse.ts";

describe("event clips without a held pre-roll", () => {
  let gw: TestGateway;
  let sse: SseClient;

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [{ id: "door", profile: "amcrest-ip2m-841b" }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
      relay: { lingerMs: 500 },
      recording: { clips: { enabled: true, preRoll: "none", preRollSeconds: 2, postRollSeconds: 1 } },
    });
    sse = new SseClient(`${gw.url}/api/v1/events/stream`);
    await sse.open();
  });

  afterAll(async () => {
    sse?.close();
    await gw?.close();
  });

  it("opens the main stream for an incident only, writes its clip, and lets the stream go after", async () => {
    const main = () =>
      gw.camgate.streams.list().find((hub) => hub.camera === "door" && hub.stats().stream === "main");
    const rtspSessions = () => gw.cameras.get("door")?.control.rtspSessions() ?? 0;
    await waitFor(
      () => (gw.camgate.events.sources.streams.get("door")?.current === "live" ? true : undefined),
      10_000,
      "the event stream",
    );
    // Nothing happens: no session on the camera for clips (with preRoll: stream there would be one).
    expect(main()?.stats().consumers ?? 0).toBe(0);
    expect(rtspSessions()).toBe(0);

    const control = gw.cameras.get("door")?.control;
    control?.trigger("VideoMotion", "Start");
    await waitFor(() => ((main()?.stats().consumers ?? 0) > 0 ? true : undefined), 10_000, "the stream");
    await waitFor(() => ((main()?.stats().unitsIn ?? 0) > 40 ? true : undefined), 20_000, "a keyframe on");
    control?.trigger("VideoMotion", "Stop");
    const ready = await sse.waitFor((m) => m.some((x) => x.data.code === "ClipReady"), 20_000, "ClipReady");
    const announced = ready.find((x) => x.data.code === "ClipReady")?.data.data as { durationMs: number };
    expect(announced.durationMs).toBeGreaterThan(1000);

    // The clip is done: the recorder lets the stream go, and after the linger the camera session ends.
    await waitFor(() => ((main()?.stats().consumers ?? 0) === 0 ? true : undefined), 10_000, "let go");
    await waitFor(() => (rtspSessions() === 0 ? true : undefined), 10_000, "the camera session ended");
  });
});
