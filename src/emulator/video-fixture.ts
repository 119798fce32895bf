/**
 * The emulator's video: small H.264/H.265 Annex-B fixtures (made once by scripts/make-rtsp-fixtures.sh with
 * Debian's ffmpeg, committed so `npm start` needs no ffmpeg), cut into pictures at each access unit
 * delimiter. The emulator has its own NAL handling, apart from the gateway's `media/`, so a bug on one side
 * cannot hide the same bug on the other.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type FixtureCodec = "h264" | "h265";

export interface FixturePicture {
  nalus: Buffer[];
  keyframe: boolean;
}

export interface VideoFixture {
  codec: FixtureCodec;
  pictures: FixturePicture[];
  /** The first parameter sets (for the SDP's sprop-parameter-sets). */
  parameterSets: Buffer[];
  fps: number;
}

/** `fixtures/rtsp/` from `src/emulator/` and from `dist/emulator/` alike. */
function fixturePath(name: string): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../fixtures/rtsp", name);
}

function splitNals(data: Buffer): Buffer[] {
  const nals: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] !== 0 || data[i + 1] !== 0) continue;
    let length = 0;
    if (data[i + 2] === 1) length = 3;
    else if (data[i + 2] === 0 && data[i + 3] === 1) length = 4;
    if (length === 0) continue;
    if (start >= 0) nals.push(data.subarray(start, i));
    start = i + length;
    i += length - 1;
  }
  if (start >= 0) nals.push(data.subarray(start));
  return nals.filter((nal) => nal.length > 0);
}

/** Whether a fixture of this name is committed (the full-size main streams exist for some profiles only). */
export function hasFixture(name: string): boolean {
  return existsSync(fixturePath(name));
}

const typeOf = (codec: FixtureCodec, nal: Buffer) =>
  codec === "h264" ? (nal[0] as number) & 0x1f : ((nal[0] as number) >> 1) & 0x3f;

const cache = new Map<string, VideoFixture>();

export function loadFixture(name: string, codec: FixtureCodec, fps = 25): VideoFixture {
  const known = cache.get(name);
  if (known) return known;
  const aud = codec === "h264" ? 9 : 35;
  const pictures: FixturePicture[] = [];
  let current: Buffer[] = [];
  const keyframe = (nalus: Buffer[]) =>
    nalus.some((nal) => {
      const type = typeOf(codec, nal);
      return codec === "h264" ? type === 5 : type >= 16 && type <= 23;
    });
  for (const nal of splitNals(readFileSync(fixturePath(name)))) {
    if (typeOf(codec, nal) === aud && current.length > 0) {
      pictures.push({ nalus: current, keyframe: keyframe(current) });
      current = [];
    }
    current.push(nal);
  }
  if (current.length > 0) pictures.push({ nalus: current, keyframe: keyframe(current) });
  const parameterTypes = codec === "h264" ? [7, 8] : [32, 33, 34];
  const parameterSets = parameterTypes
    .map((type) => pictures[0]?.nalus.find((nal) => typeOf(codec, nal) === type))
    .filter((nal): nal is Buffer => nal !== undefined);
  const fixture = { codec, pictures, parameterSets, fps };
  cache.set(name, fixture);
  return fixture;
}

/** The UUID of camgate's SEI stamp (user_data_unregistered); no zero byte, so no emulation prevention. */
export const STAMP_UUID = Buffer.from("63616d676174652d7365692d7374616d", "hex");

/**
 * An SEI NAL unit carrying `camgate seq=<n> t=<ms>` as user_data_unregistered (payload type 5): the H.264
 * analogue of the COM stamp in the emulator's JPEG frames, readable without decoding.
 */
export function stampNal(codec: FixtureCodec, sequence: number, capturedAt: number): Buffer {
  const text = Buffer.from(`camgate seq=${sequence} t=${capturedAt}`, "latin1");
  const payload = Buffer.concat([STAMP_UUID, text]);
  const header = codec === "h264" ? Buffer.from([0x06]) : Buffer.from([39 << 1, 0x01]);
  const size: number[] = [];
  let left = payload.length;
  while (left >= 255) {
    size.push(255);
    left -= 255;
  }
  size.push(left);
  // payload type 5, the size, the payload, rbsp_trailing_bits.
  return Buffer.concat([header, Buffer.from([5, ...size]), payload, Buffer.from([0x80])]);
}
