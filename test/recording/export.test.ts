/**
 * Export of a time range: one MP4 re-muxed from several continuous segments, starting at the keyframe at or
 * before `from`, with every picture of the range exactly once (the counter burned into each picture rises
 * by one from the first to the last, across the files' joins), a duration ffprobe agrees with, and byte
 * ranges that are slices of the whole.
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
  kind: string;
  start: string;
  end: string;
  state: string;
}

describe("export of a time range", () => {
  let gw: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), "camgate-export-"));

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [
        {
          id: "yard",
          profile: "amcrest-ip2m-841b",
          emulator: { rtsp: { mainVideo: "counter" } },
          config: { recording: { continuous: { segmentSeconds: 2 } } },
        },
      ],
    });
  });

  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const segments = async () =>
    (
      (await (await fetch(`${gw.url}/api/v1/cameras/yard/recordings`)).json()) as { recordings: Listed[] }
    ).recordings.filter((r) => r.kind === "segment" && r.state === "done");

  it("joins three segments into one MP4 with every picture of the range once", async () => {
    const done = await waitFor(
      async () => {
        const list = await segments();
        return list.length >= 3 ? list : undefined;
      },
      40_000,
      "three segments",
    );
    const [first, , third] = done as [Listed, Listed, Listed];
    const from = Date.parse(first.start) + 700;
    const to = Date.parse(third.start) + 1000;
    const url = `${gw.url}/api/v1/cameras/yard/export.mp4?from=${from}&to=${to}`;
    const answer = await fetch(url);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("video/mp4");
    expect(answer.headers.get("accept-ranges")).toBe("bytes");
    expect(answer.headers.get("x-camgate-export-cut")).toBeNull();
    const startedAt = Date.parse(answer.headers.get("x-camgate-export-start") ?? "");
    // From the keyframe at or before `from` (the counter stream has one a second).
    expect(startedAt).toBeLessThanOrEqual(from);
    expect(startedAt).toBeGreaterThan(from - 1500);
    const mp4 = Buffer.from(await answer.arrayBuffer());
    expect(Number(answer.headers.get("content-length"))).toBe(mp4.length);

    // Any range is the same bytes as the whole, wherever it falls (here across the second file's start).
    for (const [a, b] of [
      [0, 99],
      [1000, 60_000],
      [Math.floor(mp4.length / 2), mp4.length - 1],
    ] as const) {
      const ranged = await fetch(url, { headers: { range: `bytes=${a}-${b}` } });
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get("content-range")).toBe(`bytes ${a}-${b}/${mp4.length}`);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(mp4.subarray(a, b + 1))).toBe(true);
    }
    const download = await fetch(`${url}&download=true`, { method: "HEAD" });
    expect(download.headers.get("content-disposition")).toMatch(/^attachment; filename="yard-.*\.mp4"$/);

    const ffprobe = locateFfprobe();
    if (!ffprobe) {
      if (process.env.CI === "true") throw new Error("ffprobe is not installed");
      return;
    }
    const file = join(dir, "export.mp4");
    writeFileSync(file, mp4);
    if (process.env.KEEP_EXPORT) writeFileSync(process.env.KEEP_EXPORT, mp4);
    const probe = await runTool(ffprobe, [
      "-v",
      "error",
      "-show_entries",
      "format=duration:stream=codec_name,width,height",
      "-of",
      "json",
      file,
    ]);
    expect(probe.code).toBe(0);
    const probed = JSON.parse(probe.stdout.toString()) as {
      format: { duration: string };
      streams: { codec_name: string; width: number; height: number }[];
    };
    expect(probed.streams[0]?.codec_name).toBe("h264");

    // One timeline: decode times rise by about one picture each (25 fps), across the joins too.
    const packets = await runTool(ffprobe, [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-show_entries",
      "packet=dts_time",
      "-of",
      "csv=p=0",
      file,
    ]);
    expect(packets.code).toBe(0);
    const dts = packets.stdout.toString().trim().split("\n").map(Number);
    for (let i = 1; i < dts.length; i++) {
      const step = (dts[i] ?? 0) - (dts[i - 1] ?? 0);
      expect(step).toBeGreaterThan(0);
      expect(step).toBeLessThan(0.3);
    }
    // The file's duration is its pictures' timeline (the last decode time plus one picture). It is not
    // compared with the wall-clock range: the emulator's picture clock advances per picture, and on a busy
    // machine its timer fires late, so it makes fewer pictures than wall time (the counters below still
    // show none is lost).
    const span = ((dts[dts.length - 1] ?? 0) - (dts[0] ?? 0)) * 1000 + 40;
    expect(Math.abs(Number(probed.format.duration) * 1000 - span)).toBeLessThan(100);

    // Every picture, decoded: the counter rises by one each time, so none is lost or doubled at the joins.
    const { counters, captured } = await decodeCounterFrames(file, probed.streams[0]?.width ?? 0);
    expect(counters).not.toContain(-1);
    expect(counters.length).toBeGreaterThan(50);
    for (let i = 1; i < counters.length; i++) expect(counters[i]).toBe((counters[0] ?? 0) + i);
    // The last picture is the last one before `to`.
    const lastCaptured = captured[captured.length - 1] ?? 0;
    const beforeTo = msSinceCapture(to, lastCaptured);
    expect(beforeTo).toBeGreaterThan(0);
    // Within the emulator's own pace: 300 ms, or twice the longest wait between its pictures in this file
    // (on a busy machine its timer fires late; CI saw 326 ms once).
    const steps = captured.slice(1).map((at, i) => at - (captured[i] ?? at));
    expect(beforeTo).toBeLessThan(Math.max(300, 2 * Math.max(0, ...steps)));
  }, 90_000);

  it("answers a range without footage, and a reversed or too long one, with a problem", async () => {
    const now = Date.now();
    const none = await fetch(
      `${gw.url}/api/v1/cameras/yard/export.mp4?from=${now - 200_000_000}&to=${now - 190_000_000}`,
    );
    expect(none.status).toBe(404);
    expect(((await none.json()) as { code: string }).code).toBe("not-found");
    const reversed = await fetch(`${gw.url}/api/v1/cameras/yard/export.mp4?from=${now}&to=${now - 1000}`);
    expect(reversed.status).toBe(400);
    const long = await fetch(`${gw.url}/api/v1/cameras/yard/export.mp4?from=${now - 90_000_000}&to=${now}`);
    expect(long.status).toBe(400);
  });
});
