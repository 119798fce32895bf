/**
 * Recent footage at once: the continuous segment being written (5 minutes long here, so it stays open) is
 * listed, and its last seconds export and play, up to its last whole fragment: the counter burned into each
 * picture rises by one through the export and its last picture was captured moments before the request.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeCounterFrames, msSinceCapture } from "../helpers/counter-frames.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { runTool } from "../helpers/rtsp.ts";

interface Listed {
  id: string;
  kind: string;
  start: string;
  state: string;
  url: string | null;
}

/** How far back the export reaches (the "last 10 s"). */
const RECENT_MS = 10_000;

describe("recent footage", () => {
  let gw: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), "camgate-recent-"));

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [
        {
          id: "yard",
          profile: "amcrest-ip2m-841b",
          emulator: { rtsp: { mainVideo: "counter" } },
          config: { recording: { continuous: { segmentSeconds: 300 } } },
        },
      ],
    });
  });

  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const openSegment = async () =>
    (
      (await (await fetch(`${gw.url}/api/v1/cameras/yard/recordings`)).json()) as { recordings: Listed[] }
    ).recordings.find((r) => r.kind === "segment" && r.state === "recording");

  it("the last 10 s of the segment being written export and play, up to moments ago", async () => {
    // Waits until the open segment holds more than the range (a keyframe before it included).
    const segment = await waitFor(
      async () => {
        const open = await openSegment();
        return open && Date.parse(open.start) < Date.now() - RECENT_MS - 1500 ? open : undefined;
      },
      40_000,
      "an open segment longer than the range",
    );
    expect(segment.url).toBeNull();
    const to = Date.now();
    const from = to - RECENT_MS;
    // Listed for a range that starts after it began (it has no end yet).
    const listed = (await (
      await fetch(`${gw.url}/api/v1/cameras/yard/recordings?from=${from}&to=${to}`)
    ).json()) as { recordings: Listed[] };
    expect(listed.recordings.map((r) => r.id)).toContain(segment.id);

    const answer = await fetch(`${gw.url}/api/v1/cameras/yard/export.mp4?from=${from}&to=${to}`);
    expect(answer.status).toBe(200);
    const startedAt = Date.parse(answer.headers.get("x-camgate-export-start") ?? "");
    expect(startedAt).toBeLessThanOrEqual(from);
    const mp4 = Buffer.from(await answer.arrayBuffer());
    // Still being written: the export came from the open file.
    expect((await openSegment())?.id).toBe(segment.id);

    const ffprobe = locateFfprobe();
    if (!ffprobe) {
      if (process.env.CI === "true") throw new Error("ffprobe is not installed");
      return;
    }
    const file = join(dir, "recent.mp4");
    writeFileSync(file, mp4);
    const probe = await runTool(ffprobe, [
      "-v",
      "error",
      "-show_entries",
      "format=duration:stream=codec_name,width",
      "-of",
      "json",
      file,
    ]);
    expect(probe.code).toBe(0);
    const probed = JSON.parse(probe.stdout.toString()) as {
      format: { duration: string };
      streams: { codec_name: string; width: number }[];
    };
    expect(probed.streams[0]?.codec_name).toBe("h264");
    const { counters, captured } = await decodeCounterFrames(file, probed.streams[0]?.width ?? 0);
    expect(counters.length).toBeGreaterThan(50);
    for (let i = 1; i < counters.length; i++) expect(counters[i]).toBe((counters[0] ?? 0) + i);
    // The first picture is the keyframe at or before `from`; the last was captured moments before `to`
    // (what the emulator had sent and camgate had written when the export was asked for).
    expect(msSinceCapture(from, captured[0] ?? 0)).toBeLessThan(2000);
    const lag = msSinceCapture(to, captured[captured.length - 1] ?? 0);
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(3000);
  }, 90_000);
});
