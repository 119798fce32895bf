/**
 * H.265 facts camgate needs without decoding: NAL unit types, the SPS (size, profile, tier, level) and the
 * codec string built from it (`hvc1.P.C.Ltt.B0`, ISO/IEC 14496-15 Annex E). go2rtc hard-codes
 * `hvc1.1.6.L153.B0`, and a Dahua main stream at level 6.0 then fails in MSE (go2rtc#2205): never assume.
 */
import { BitReader, unescapeRbsp } from "./bits.ts";
import type { VideoParameters } from "./h264.ts";

export const H265_NAL = {
  /** IRAP pictures (BLA, IDR, CRA) are 16..23; a decoder can start at any of them. */
  irapFirst: 16,
  irapLast: 23,
  vps: 32,
  sps: 33,
  pps: 34,
  aud: 35,
  seiPrefix: 39,
  seiSuffix: 40,
  ap: 48,
  fu: 49,
} as const;

export function h265NalType(nal: Uint8Array): number {
  return ((nal[0] ?? 0) >> 1) & 0x3f;
}

export function isH265Irap(type: number): boolean {
  return type >= H265_NAL.irapFirst && type <= H265_NAL.irapLast;
}

/** Reverses the 32 bits of `value` (general_profile_compatibility_flags are written in reverse). */
function reverse32(value: number): number {
  let out = 0;
  for (let i = 0; i < 32; i++) out = out * 2 + ((value >>> i) & 1);
  return out;
}

/** Reads an SPS NAL unit (with its two-byte header). Throws `BitstreamError` for a truncated one. */
export function parseH265Sps(nal: Uint8Array): VideoParameters {
  const reader = new BitReader(unescapeRbsp(nal.subarray(2)));
  reader.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = reader.bits(3);
  reader.skip(1); // sps_temporal_id_nesting_flag
  const profileSpace = reader.bits(2);
  const tier = reader.bit();
  const profile = reader.bits(5);
  const compatibility = reader.bits(32);
  const constraints: number[] = [];
  for (let i = 0; i < 6; i++) constraints.push(reader.bits(8));
  const level = reader.bits(8);
  const subLayers: { profile: boolean; level: boolean }[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++)
    subLayers.push({ profile: reader.bit() === 1, level: reader.bit() === 1 });
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) reader.skip(2);
  for (const layer of subLayers) {
    if (layer.profile) reader.skip(88);
    if (layer.level) reader.skip(8);
  }
  reader.ue(); // sps_seq_parameter_set_id
  const chromaFormat = reader.ue();
  if (chromaFormat === 3) reader.skip(1);
  let width = reader.ue();
  let height = reader.ue();
  if (reader.bit() === 1) {
    const subWidth = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1;
    const subHeight = chromaFormat === 1 ? 2 : 1;
    const left = reader.ue();
    const right = reader.ue();
    const top = reader.ue();
    const bottom = reader.ue();
    width -= subWidth * (left + right);
    height -= subHeight * (top + bottom);
  }
  let lastConstraint = constraints.length;
  while (lastConstraint > 1 && constraints[lastConstraint - 1] === 0) lastConstraint--;
  const space = ["", "A", "B", "C"][profileSpace] ?? "";
  const codec = [
    "hvc1",
    `${space}${profile}`,
    reverse32(compatibility).toString(16).toUpperCase(),
    `${tier === 1 ? "H" : "L"}${level}`,
    ...constraints.slice(0, lastConstraint).map((byte) => byte.toString(16).toUpperCase()),
  ].join(".");
  return { width, height, fps: undefined, profile, level, codec };
}
