/**
 * H.264 facts camgate needs without decoding: NAL unit types, the sequence parameter set (size, profile,
 * level, frame rate), the codec string browsers want (`avc1.PPCCLL`, from the SPS, never hard-coded), and
 * Annex-B start-code splitting (cameras put start codes inside RTP packets: gortsplib's decoder notes it).
 */
import { BitReader, unescapeRbsp } from "./bits.ts";

export const H264_NAL = {
  slice: 1,
  idr: 5,
  sei: 6,
  sps: 7,
  pps: 8,
  aud: 9,
  stapA: 24,
  fuA: 28,
} as const;

export function h264NalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

export interface VideoParameters {
  width: number;
  height: number;
  /** Frames per second from the VUI timing info, when the SPS carries it. */
  fps: number | undefined;
  profile: number;
  level: number;
  /** The codec string for MSE and the SDP (`avc1.64001f`, `hvc1.1.6.L120.B0`). */
  codec: string;
}

/** Profiles whose SPS carries chroma format, bit depths and scaling lists (ITU-T H.264 7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(reader: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + reader.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** Reads an SPS NAL unit (with its one-byte header). Throws `BitstreamError` for a truncated one. */
export function parseH264Sps(nal: Uint8Array): VideoParameters {
  const reader = new BitReader(unescapeRbsp(nal.subarray(1)));
  const profile = reader.bits(8);
  const constraints = reader.bits(8);
  const level = reader.bits(8);
  reader.ue(); // seq_parameter_set_id
  let chromaFormat = 1;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = reader.ue();
    if (chromaFormat === 3) reader.skip(1); // separate_colour_plane_flag
    reader.ue(); // bit_depth_luma_minus8
    reader.ue(); // bit_depth_chroma_minus8
    reader.skip(1); // qpprime_y_zero_transform_bypass_flag
    if (reader.bit() === 1) {
      for (let i = 0; i < (chromaFormat === 3 ? 12 : 8); i++)
        if (reader.bit() === 1) skipScalingList(reader, i < 6 ? 16 : 64);
    }
  }
  reader.ue(); // log2_max_frame_num_minus4
  const pocType = reader.ue();
  if (pocType === 0) reader.ue();
  else if (pocType === 1) {
    reader.skip(1);
    reader.se();
    reader.se();
    const cycle = reader.ue();
    if (cycle > 255) throw new RangeError("num_ref_frames_in_pic_order_cnt_cycle over 255");
    for (let i = 0; i < cycle; i++) reader.se();
  }
  reader.ue(); // max_num_ref_frames
  reader.skip(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = reader.ue() + 1;
  const heightMapUnits = reader.ue() + 1;
  const frameMbsOnly = reader.bit();
  if (frameMbsOnly === 0) reader.skip(1); // mb_adaptive_frame_field_flag
  reader.skip(1); // direct_8x8_inference_flag
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (reader.bit() === 1)
    crop = { left: reader.ue(), right: reader.ue(), top: reader.ue(), bottom: reader.ue() };
  const cropX = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1;
  const cropY = (chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropX * (crop.left + crop.right);
  const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (crop.top + crop.bottom);
  let fps: number | undefined;
  if (reader.bitsLeft > 0 && reader.bit() === 1) fps = vuiFrameRate(reader);
  return {
    width,
    height,
    fps,
    profile,
    level,
    codec: `avc1.${hex2(profile)}${hex2(constraints)}${hex2(level)}`,
  };
}

/** The VUI's timing info: frames per second (time_scale / 2 / num_units_in_tick), or undefined. */
function vuiFrameRate(reader: BitReader): number | undefined {
  if (reader.bit() === 1) {
    // aspect_ratio_info
    if (reader.bits(8) === 255) reader.skip(32);
  }
  if (reader.bit() === 1) reader.skip(1); // overscan
  if (reader.bit() === 1) {
    reader.skip(4); // video_format, video_full_range_flag
    if (reader.bit() === 1) reader.skip(24); // colour description
  }
  if (reader.bit() === 1) {
    reader.ue();
    reader.ue();
  }
  if (reader.bit() !== 1) return undefined;
  const unitsInTick = reader.bits(32);
  const timeScale = reader.bits(32);
  if (unitsInTick === 0 || timeScale === 0) return undefined;
  return Math.round((timeScale / (2 * unitsInTick)) * 1000) / 1000;
}

/**
 * The NAL units of an Annex-B byte stream (00 00 01 or 00 00 00 01 start codes), without the start codes.
 * Data before the first start code is returned as one NAL unit (a packet that carries no start code).
 */
export function splitAnnexB(data: Uint8Array): Uint8Array[] {
  const starts: { at: number; length: number }[] = [];
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0) {
      if (data[i + 2] === 1) {
        starts.push({ at: i, length: 3 });
        i += 2;
      } else if (data[i + 2] === 0 && data[i + 3] === 1) {
        starts.push({ at: i, length: 4 });
        i += 3;
      }
    }
  }
  if (starts.length === 0) return data.length > 0 ? [data] : [];
  const nals: Uint8Array[] = [];
  if ((starts[0]?.at ?? 0) > 0) nals.push(data.subarray(0, starts[0]?.at));
  for (let s = 0; s < starts.length; s++) {
    const start = starts[s] as { at: number; length: number };
    const end = starts[s + 1]?.at ?? data.length;
    let stop = end;
    // Trailing zeros before the next start code belong to neither NAL unit.
    while (stop > start.at + start.length && data[stop - 1] === 0) stop--;
    if (stop > start.at + start.length) nals.push(data.subarray(start.at + start.length, stop));
  }
  return nals;
}
