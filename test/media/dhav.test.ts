/**
 * DHAV, read and re-muxed: the emulator's SD card files (DHAV as FFmpeg's demuxer reads it) give the same
 * records however the bytes are cut, behind a firmware preamble, and past damage (properties); a record
 * that claims to be huge is skipped without being held. Through camgate, `format=mp4` gives an MP4 ffprobe
 * counts every picture of, and Chromium plays from a `<video>` element.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatedCamera } from "../../src/emulator/camera.ts";
import { DhavReader, type DhavRecord, MAX_RECORD_BYTES } from "../../src/media/dhav.ts";
import { DhavToFmp4 } from "../../src/media/dhav-fmp4.ts";
import { launchChromium, locateChromium } from "../helpers/browser.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { runTool } from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

function readAll(chunks: Uint8Array[]): { records: DhavRecord[]; reader: DhavReader } {
  const reader = new DhavReader();
  const records = chunks.flatMap((chunk) => reader.push(chunk));
  return { records, reader };
}

function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of [...at, bytes.length]) {
    parts.push(bytes.subarray(last, p));
    last = p;
  }
  return parts;
}

describe("DHAV", () => {
  let gw: TestGateway;
  let camera: EmulatedCamera;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;
  const dir = mkdtempSync(join(tmpdir(), "camgate-dhav-"));

  beforeAll(async () => {
    gw = await startTestGateway({ cameras: [{ id: "door", profile: "amcrest-ip2m-841b" }] });
    camera = gw.cameras.get("door")?.camera as EmulatedCamera;
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = () => {
    const recording = camera.sdCard.recordings[0];
    if (!recording) throw new Error("no recording");
    return { recording, bytes: camera.sdCard.file(recording.path) ?? Buffer.alloc(0) };
  };

  it("reads the same records however the bytes are cut, behind a preamble and past damage", () => {
    const { recording, bytes } = file();
    const whole = readAll([bytes]).records;
    expect(whole).toHaveLength((recording.durationMs / 1000) * 25);
    expect(whole[0]).toMatchObject({
      kind: "video",
      keyframe: true,
      width: 320,
      height: 180,
      codec: "h264",
      fps: 25,
    });
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.uint8Array({ maxLength: 13_000 }).filter((b) => !Buffer.from(b).includes("DHAV")),
        (points, preamble) => {
          const stream = Buffer.concat([Buffer.from(preamble), bytes]);
          const { records, reader } = readAll(cut(stream, points));
          expect(records.map((r) => r.frameNumber)).toEqual(whole.map((r) => r.frameNumber));
          expect(reader.skipped).toBe(preamble.length);
        },
      ),
      { numRuns: 60 },
    );
    // Damage inside the tenth record: it is lost, every record after it is read.
    const damaged = Buffer.from(bytes);
    let at = 0;
    for (let i = 0; i < 9; i++) at += damaged.readUInt32LE(at + 12);
    damaged.fill(0x55, at + 4, at + 40);
    const after = readAll([damaged]).records;
    expect(after.map((r) => r.frameNumber)).toEqual(
      whole.filter((_, i) => i !== 9).map((r) => r.frameNumber),
    );
  });

  it("skips a record that claims to be larger than any picture, holding no more than it must", () => {
    const header = Buffer.alloc(24);
    header.write("DHAV", 0, "latin1");
    header[4] = 0xfd;
    header.writeUInt32LE(MAX_RECORD_BYTES + 1, 12);
    const { bytes } = file();
    const reader = new DhavReader();
    const records = [header, bytes].flatMap((chunk) => reader.push(chunk));
    expect(records.length).toBe(readAll([bytes]).records.length);
  });

  it("re-muxes to an MP4 whose pictures ffprobe counts, on the camera's timing", async () => {
    const { recording, bytes } = file();
    const remux = new DhavToFmp4();
    const mp4 = Buffer.concat(readAll([bytes]).records.flatMap((r) => remux.push(r)));
    expect(remux.firstDate?.getTime()).toBe(Math.floor(recording.startedAt / 1000) * 1000);
    const ffprobe = locateFfprobe();
    if (!ffprobe) {
      if (process.env.CI === "true") throw new Error("ffprobe is not installed");
      return;
    }
    const path = join(dir, "local.mp4");
    writeFileSync(path, mp4);
    const probe = await runTool(ffprobe, [
      "-v",
      "error",
      "-count_frames",
      "-show_entries",
      "stream=codec_name,width,nb_read_frames:format=duration",
      "-of",
      "json",
      path,
    ]);
    const probed = JSON.parse(probe.stdout.toString()) as {
      streams: { codec_name: string; width: number; nb_read_frames: string }[];
      format: { duration: string };
    };
    expect(probed.streams[0]).toMatchObject({ codec_name: "h264", width: 320 });
    expect(Number(probed.streams[0]?.nb_read_frames)).toBe((recording.durationMs / 1000) * 25);
    expect(Math.abs(Number(probed.format.duration) * 1000 - recording.durationMs)).toBeLessThan(100);
  });

  itWithTool(
    "chromium",
    locateChromium,
    "a card file plays in Chromium through camgate",
    async () => {
      if (!chromium) throw new Error("no browser");
      const { recording } = file();
      const url = `${gw.url}/api/v1/cameras/door/sdcard/file?path=${encodeURIComponent(recording.path)}&format=mp4`;
      const answer = await fetch(url);
      expect(answer.headers.get("content-type")).toBe("video/mp4");
      await answer.arrayBuffer();
      const page = await (await chromium.browser.newContext()).newPage();
      await page.goto(`${gw.url}/api/v1/session`);
      await page.setContent(`<video id="v" src="${url}" muted playsinline></video>`);
      await page.evaluate(() =>
        (
          (
            globalThis as unknown as { document: { getElementById(id: string): unknown } }
          ).document.getElementById("v") as { play(): Promise<void> }
        ).play(),
      );
      const played = await waitFor(
        async () => {
          const now = await page.evaluate(() => {
            const v = (
              globalThis as unknown as { document: { getElementById(id: string): unknown } }
            ).document.getElementById("v") as {
              videoWidth: number;
              ended: boolean;
              getVideoPlaybackQuality(): { totalVideoFrames: number };
            };
            return {
              width: v.videoWidth,
              frames: v.getVideoPlaybackQuality().totalVideoFrames,
              ended: v.ended,
            };
          });
          return now.ended || now.frames >= 40 ? now : undefined;
        },
        20_000,
        "the card file playing",
      );
      expect(played.width).toBe(320);
      expect(played.frames).toBeGreaterThanOrEqual(40);
      await page.context().close();
    },
    60_000,
  );
});
