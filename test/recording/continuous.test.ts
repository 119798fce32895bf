/**
 * Continuous recording: the stream cut into files that each start at a keyframe and follow one another
 * without a gap, each an MP4 ffprobe reads with the duration the index states; the camera's budget deletes
 * the oldest while recording goes on.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { runTool } from "../helpers/rtsp.ts";

interface Listed {
  id: string;
  kind: string;
  start: string;
  end: string;
  durationMs: number;
  bytes: number;
  state: string;
  url: string | null;
}

describe("continuous recording", () => {
  let gw: TestGateway;
  const dir = mkdtempSync(join(tmpdir(), "camgate-continuous-"));
  /** About 3 segments of the counter stream (2 s each, ~450 KB/s). */
  const BUDGET_BYTES = 3 * 1024 * 1024;

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [
        {
          id: "yard",
          profile: "amcrest-ip2m-841b",
          emulator: { rtsp: { mainVideo: "counter" } },
          config: {
            recording: { continuous: { segmentSeconds: 2 }, maxGigabytes: BUDGET_BYTES / 1024 ** 3 },
          },
        },
      ],
    });
  });

  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const list = async () =>
    (
      (await (await fetch(`${gw.url}/api/v1/cameras/yard/recordings`)).json()) as {
        recordings: Listed[];
      }
    ).recordings.filter((r) => r.kind === "segment" && r.state === "done");

  it("writes back-to-back segments from keyframes, and the budget deletes the oldest", async () => {
    const seen = new Set<string>();
    // Enough segments that the budget had to delete some.
    await waitFor(
      async () => {
        for (const r of await list()) seen.add(r.id);
        return seen.size >= 6 ? true : undefined;
      },
      60_000,
      "six segments",
    );
    const kept = await list();
    expect(kept.length).toBeLessThan(seen.size);
    expect(kept.reduce((sum, r) => sum + r.bytes, 0)).toBeLessThanOrEqual(BUDGET_BYTES);
    // The oldest went: every deleted segment is older than every kept one (ULIDs sort by time).
    const keptIds = new Set(kept.map((r) => r.id));
    const oldestKept = [...keptIds].sort()[0] ?? "";
    for (const id of seen) if (!keptIds.has(id)) expect(id < oldestKept).toBe(true);
    for (let i = 1; i < kept.length; i++) {
      const gap = Date.parse(kept[i]?.start ?? "") - Date.parse(kept[i - 1]?.end ?? "");
      expect(Math.abs(gap)).toBeLessThan(250);
    }
    for (const segment of kept) {
      expect(segment.durationMs).toBeGreaterThanOrEqual(1900);
      expect(segment.durationMs).toBeLessThan(3500);
    }
    const ffprobe = locateFfprobe();
    if (!ffprobe) {
      if (process.env.CI === "true") throw new Error("ffprobe is not installed");
      return;
    }
    const last = kept[kept.length - 1] as Listed;
    const file = join(dir, "segment.mp4");
    writeFileSync(file, Buffer.from(await (await fetch(`${gw.url}${last.url}`)).arrayBuffer()));
    const probe = await runTool(ffprobe, [
      "-v",
      "error",
      "-show_entries",
      "format=duration:frame=key_frame",
      "-read_intervals",
      "%+#1",
      "-of",
      "json",
      file,
    ]);
    expect(probe.code).toBe(0);
    const probed = JSON.parse(probe.stdout.toString()) as {
      format: { duration: string };
      frames: { key_frame: number }[];
    };
    expect(probed.frames[0]?.key_frame).toBe(1);
    expect(Math.abs(Number(probed.format.duration) * 1000 - last.durationMs)).toBeLessThan(100);
  }, 90_000);
});
