/**
 * The fMP4 writer: its boxes read back structurally, and its output read by an independent demuxer and
 * decoder (ffprobe, ffmpeg) for H.264 and H.265 from the emulator's fixtures.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadFixture } from "../../src/emulator/video-fixture.ts";
import type { VideoCodec } from "../../src/media/access-unit.ts";
import {
  type Fmp4VideoTrack,
  fragment,
  initSegment,
  mimeType,
  sampleNalus,
  VIDEO_TRACK_ID,
} from "../../src/media/fmp4.ts";
import { parseH264Sps } from "../../src/media/h264.ts";
import { parseH265Sps } from "../../src/media/h265.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { runTool } from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

interface Box {
  type: string;
  start: number;
  size: number;
  body: Buffer;
}

/** The boxes at one level of `data` (a test-side reader, apart from the writer). */
function boxes(data: Buffer): Box[] {
  const out: Box[] = [];
  for (let at = 0; at + 8 <= data.length; ) {
    const size = data.readUInt32BE(at);
    if (size < 8 || at + size > data.length) throw new Error(`bad box size ${size} at ${at}`);
    out.push({
      type: data.toString("latin1", at + 4, at + 8),
      start: at,
      size,
      body: data.subarray(at + 8, at + size),
    });
    at += size;
  }
  return out;
}

const child = (data: Buffer, ...path: string[]): Box => {
  let current: Box | undefined;
  let body = data;
  for (const type of path) {
    current = boxes(body).find((b) => b.type === type);
    if (!current) throw new Error(`no ${type} box`);
    body = current.body;
  }
  return current as Box;
};

function trackOf(codec: VideoCodec, file: string): { track: Fmp4VideoTrack; pictures: Uint8Array[][] } {
  const fixture = loadFixture(file, codec);
  const sps = fixture.parameterSets.find((nal) =>
    codec === "h264" ? ((nal[0] as number) & 0x1f) === 7 : (((nal[0] as number) >> 1) & 0x3f) === 33,
  ) as Buffer;
  const parameters = codec === "h264" ? parseH264Sps(sps) : parseH265Sps(sps);
  return {
    track: { codec, parameterSets: fixture.parameterSets, parameters },
    pictures: fixture.pictures.map((picture) => picture.nalus),
  };
}

function movie(codec: VideoCodec, file: string, count: number): { bytes: Buffer; mime: string } {
  const { track, pictures } = trackOf(codec, file);
  const fixture = loadFixture(file, codec);
  const parts = [initSegment(track)];
  for (let i = 0; i < count; i++) {
    const picture = fixture.pictures[i % fixture.pictures.length];
    if (!picture) throw new Error("no picture");
    parts.push(
      fragment(
        {
          trackId: VIDEO_TRACK_ID,
          decodeTime: i * 3600,
          duration: 3600,
          keyframe: picture.keyframe,
          data: sampleNalus(codec, pictures[i % pictures.length] as Uint8Array[]),
          lengthPrefixed: true,
        },
        i + 1,
      ),
    );
  }
  return { bytes: Buffer.concat(parts), mime: mimeType(track) };
}

describe("fMP4 writer", () => {
  const dir = mkdtempSync(join(tmpdir(), "camgate-fmp4-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes ftyp and a moov with the SPS's size, then a moof+mdat per access unit with its own time", () => {
    const { bytes, mime } = movie("h264", "main.h264", 3);
    expect(mime).toMatch(/^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/);
    const top = boxes(bytes).map((b) => b.type);
    expect(top).toEqual(["ftyp", "moov", "moof", "mdat", "moof", "mdat", "moof", "mdat"]);
    const tkhd = child(bytes, "moov", "trak", "tkhd").body;
    expect(tkhd.readUInt32BE(tkhd.length - 8) / 65536).toBe(640);
    expect(tkhd.readUInt32BE(tkhd.length - 4) / 65536).toBe(360);
    const mdhd = child(bytes, "moov", "trak", "mdia", "mdhd").body;
    expect(mdhd.readUInt32BE(12)).toBe(90_000);
    const stsd = child(bytes, "moov", "trak", "mdia", "minf", "stbl", "stsd").body;
    expect(stsd.toString("latin1", 12, 16)).toBe("avc1");
    // The second fragment: its tfdt is 3600, its trun's data offset points just past the mdat header.
    const second = boxes(bytes)[4] as Box;
    const moof = bytes.subarray(second.start, second.start + second.size);
    const tfdt = child(moof, "moof", "traf", "tfdt").body;
    expect(tfdt.readBigUInt64BE(4)).toBe(3600n);
    const trun = child(moof, "moof", "traf", "trun").body;
    expect(trun.readUInt32BE(8)).toBe(second.size + 8);
    const mdat = boxes(bytes)[5] as Box;
    expect(trun.readUInt32BE(16)).toBe(mdat.size - 8);
    // Samples are length-prefixed NAL units, without access unit delimiters.
    const first = mdat.body.readUInt32BE(0);
    expect((mdat.body[4] as number) & 0x1f).not.toBe(9);
    expect(first).toBeGreaterThan(0);
  });

  it("marks keyframes as sync samples and the rest as non-sync", () => {
    const { bytes } = movie("h264", "main.h264", 2);
    const flagsOf = (index: number) => {
      const box = boxes(bytes)[index] as Box;
      return child(bytes.subarray(box.start, box.start + box.size), "moof", "traf", "trun").body.readUInt32BE(
        20,
      );
    };
    expect(flagsOf(2)).toBe(0x02000000);
    expect(flagsOf(4) & 0x00010000).toBe(0x00010000);
  });

  it("derives the H.265 codec string from the SPS (never hvc1.1.6.L153.B0 by default)", () => {
    const { mime, bytes } = movie("h265", "main.h265", 1);
    const { track } = trackOf("h265", "main.h265");
    expect(mime).toBe(`video/mp4; codecs="${track.parameters.codec}"`);
    const stsd = child(bytes, "moov", "trak", "mdia", "minf", "stbl", "stsd").body;
    expect(stsd.toString("latin1", 12, 16)).toBe("hvc1");
  });

  for (const [codec, file, name] of [
    ["h264", "main.h264", "h264"],
    ["h265", "main.h265", "hevc"],
  ] as const) {
    itWithTool(
      "ffprobe",
      locateFfprobe,
      `ffprobe and ffmpeg read and decode every ${codec} picture`,
      async () => {
        const path = join(dir, `${codec}.mp4`);
        writeFileSync(path, movie(codec, file, 60).bytes);
        const probe = await runTool("ffprobe", [
          "-v",
          "error",
          "-count_frames",
          "-select_streams",
          "v:0",
          "-show_entries",
          "stream=codec_name,width,height,nb_read_frames",
          "-of",
          "csv=p=0",
          path,
        ]);
        expect(probe.stderr).toBe("");
        expect(probe.stdout.toString().trim()).toBe(`${name},640,360,60`);
        const decode = await runTool("ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"]);
        expect(decode.code).toBe(0);
        expect(decode.stderr).toBe("");
      },
    );
  }
});
