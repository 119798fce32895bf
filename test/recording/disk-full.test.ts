/**
 * A full disk in the middle of recording: the clip fails with "disk-full", recording stops with one
 * RecordingStopped event and a warn line, the live viewers and the event store go on; when there is room
 * again the next clip is written and RecordingResumed says so. The disk is real; its fullness is injected at
 * the file's writes (ENOSPC after the first megabyte, as a filling disk does), since filling a real
 * filesystem needs a mount this machine's tests cannot make.
 */
import { open } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WritableFile } from "../../src/recording/clip-file.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { jpegsOf } from "../helpers/mjpeg.ts";
import { SseClient } from "../helpers/sse.ts";
import { openStream } from "../helpers/stream.ts";

describe("recording on a full disk", () => {
  let gw: TestGateway;
  let sse: SseClient;
  let full = false;
  /** Bytes a file may take while the disk is "full" (its init and first pictures fit, then ENOSPC). */
  const ROOM = 1024 * 1024;

  const openFile = async (path: string): Promise<WritableFile> => {
    const handle = await open(path, "w", 0o600);
    let written = 0;
    return {
      write: async (data, offset, length, position) => {
        if (full && written + length > ROOM)
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        written += length;
        return handle.write(data, offset, length, position);
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  };

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [{ id: "door", profile: "amcrest-ip2m-841b", emulator: { rtsp: { mainVideo: "counter" } } }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
      recording: { clips: { enabled: true, preRollSeconds: 1, postRollSeconds: 1 } },
      // No pause after the full disk: the next motion tries at once (the pause is for a disk that stays full).
      start: { recordingFaults: { openFile, diskFullPauseMs: 0 } },
    });
    sse = new SseClient(`${gw.url}/api/v1/events/stream`);
    await sse.open();
  });

  afterAll(async () => {
    sse?.close();
    await gw?.close();
  });

  it("stops with one event, keeps viewers and events going, and resumes when there is room", async () => {
    const main = () =>
      gw.camgate.streams.list().find((hub) => hub.camera === "door" && hub.stats().stream === "main");
    await waitFor(() => ((main()?.stats().unitsIn ?? 0) > 50 ? true : undefined), 20_000, "the stream");
    await waitFor(
      () => (gw.camgate.events.sources.streams.get("door")?.current === "live" ? true : undefined),
      10_000,
      "the event stream",
    );
    const viewer = await openStream(gw.url, "/api/v1/cameras/door/stream.mjpeg", undefined);
    try {
      const control = gw.cameras.get("door")?.control;
      full = true;
      control?.trigger("VideoMotion", "Start");
      const codes = () => sse.messages.map((m) => m.data.code);
      await sse.waitFor((m) => m.some((x) => x.data.code === "RecordingStopped"), 20_000, "RecordingStopped");
      control?.trigger("VideoMotion", "Stop");
      await sse.waitFor((m) => m.some((x) => x.data.code === "RecordingFailed"), 10_000, "RecordingFailed");
      const failed = sse.messages.find((m) => m.data.code === "RecordingFailed")?.data.data as {
        reason?: string;
      };
      expect(failed.reason).toBe("disk-full");
      expect(gw.logs()).toContain("recording stopped: the disk is full");
      // Live viewers and the event store go on.
      const before = jpegsOf(viewer.bytes()).length;
      await viewer.waitUntil(
        (bytes) => jpegsOf(bytes).length > before + 2,
        10_000,
        "MJPEG frames while the disk is full",
      );
      expect(codes()).toContain("VideoMotion");

      // Room again: the next motion gets its clip.
      full = false;
      control?.trigger("VideoMotion", "Start");
      const units = main()?.stats().unitsIn ?? 0;
      await waitFor(
        () => ((main()?.stats().unitsIn ?? 0) > units + 25 ? true : undefined),
        10_000,
        "1 s of motion",
      );
      control?.trigger("VideoMotion", "Stop");
      await sse.waitFor(
        (m) => m.some((x) => x.data.code === "ClipReady"),
        20_000,
        "ClipReady after room returned",
      );
      await sse.waitFor((m) => m.some((x) => x.data.code === "RecordingResumed"), 10_000, "RecordingResumed");
      expect(codes().filter((code) => code === "RecordingStopped")).toHaveLength(1);
    } finally {
      viewer.close();
    }
  }, 90_000);
});
