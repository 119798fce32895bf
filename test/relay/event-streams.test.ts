/** The shared event stream of a camera: reconnects at once when the camera is seen again. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CameraRegistry } from "../../src/camera/registry.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { EventStreams } from "../../src/relay/event-stream-hub.ts";
import { waitFor } from "../helpers/http.ts";

describe("event streams", () => {
  let emulator: RunningEmulator;
  let cameras: CameraRegistry;
  let streams: EventStreams;
  beforeAll(async () => {
    emulator = await startEmulator({ profile: "amcrest-ip2m-841b", password: "pw" });
    const url = emulator.cameras[0]?.url ?? "";
    cameras = new CameraRegistry([
      {
        id: "dogs",
        name: "dogs",
        mjpeg: { channel: 1, subtype: 1 },
        rtsp: { host: "127.0.0.1", port: 554, maxSessions: 2, main: "/", sub: "/" },
        session: { id: "dogs", url, username: "admin", password: "pw" },
      },
    ]);
    // A backoff far longer than this test may take: only the "camera is back" signal can bring it back.
    streams = new EventStreams(cameras, {
      codesFor: () => ["All"],
      heartbeatSeconds: 1,
      lingerMs: 0,
      backoffMinMs: 120_000,
    });
  });
  afterAll(async () => {
    streams?.close();
    await cameras?.close();
    await emulator?.close();
  });

  it("reconnects as soon as the camera answers again, not after its backoff, so no event is lost", async () => {
    const entry = cameras.get("dogs");
    const control = emulator.cameras[0]?.control;
    if (!entry || !control) throw new Error("no camera");
    const notices: string[] = [];
    const stop = streams.hub(entry).listen({ onNotice: (n) => notices.push(`${n.code} ${n.action}`) });
    try {
      const stream = streams.get("dogs");
      await waitFor(() => (stream?.current === "live" ? true : undefined), 10_000, "live");
      await control.stopListening();
      await waitFor(() => (stream?.current === "down" ? true : undefined), 10_000, "down");
      // Seen offline by the session too (two failed calls), then back.
      await entry.api.time().catch(() => undefined);
      await entry.api.time().catch(() => undefined);
      expect(entry.session.getHealth().state).toBe("offline");
      await control.startListening();
      await entry.api.time();
      await waitFor(() => (stream?.current === "live" ? true : undefined), 10_000, "live again");
      control.trigger("VideoMotion", "Start");
      await waitFor(() => (notices.includes("VideoMotion Start") ? true : undefined), 10_000, "the motion");
    } finally {
      stop();
    }
  });
});
