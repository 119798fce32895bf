/**
 * AAC over RTP in the mpeg4-generic form (RFC 3640, AAC-hbr: sizeLength 13, indexLength 3,
 * indexDeltaLength 3): several AU headers, then their access units, each 1024 samples apart. And the
 * AudioSpecificConfig from the SDP's `config=` (hex), for the sample rate, channels and codec string.
 */
import type { AudioFrame } from "./access-unit.ts";
import { BitReader } from "./bits.ts";

export interface AacConfig {
  objectType: number;
  sampleRate: number;
  channels: number;
  /** The AudioSpecificConfig bytes (the esds/avcC-style description). */
  config: Uint8Array;
  /** `mp4a.40.2` for AAC-LC. */
  codec: string;
}

const SAMPLE_RATES = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

export function parseAacConfig(hex: string): AacConfig {
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new RangeError(`AAC config is not hex: ${JSON.stringify(hex)}`);
  const config = Uint8Array.from(Buffer.from(hex, "hex"));
  const reader = new BitReader(config);
  let objectType = reader.bits(5);
  if (objectType === 31) objectType = 32 + reader.bits(6);
  const rateIndex = reader.bits(4);
  const sampleRate = rateIndex === 15 ? reader.bits(24) : SAMPLE_RATES[rateIndex];
  if (sampleRate === undefined) throw new RangeError(`AAC sampling frequency index ${rateIndex}`);
  const channels = reader.bits(4);
  return { objectType, sampleRate, channels, config, codec: `mp4a.40.${objectType}` };
}

export interface Rfc3640Options {
  sizeLength: number;
  indexLength: number;
  indexDeltaLength: number;
}

export const AAC_HBR: Rfc3640Options = { sizeLength: 13, indexLength: 3, indexDeltaLength: 3 };

/** The AAC frames of one RTP payload; an inconsistent header gives none (and counts as refused upstream). */
export function depacketizeAac(
  payload: Uint8Array,
  timestamp: number,
  options: Rfc3640Options = AAC_HBR,
): AudioFrame[] {
  if (payload.length < 2) return [];
  const headerBits = ((payload[0] as number) << 8) | (payload[1] as number);
  const headerBytes = Math.ceil(headerBits / 8);
  if (2 + headerBytes > payload.length) return [];
  const reader = new BitReader(payload.subarray(2, 2 + headerBytes));
  const sizes: number[] = [];
  let bits = headerBits;
  let first = true;
  while (bits >= options.sizeLength + (first ? options.indexLength : options.indexDeltaLength)) {
    sizes.push(reader.bits(options.sizeLength));
    reader.skip(first ? options.indexLength : options.indexDeltaLength);
    bits -= options.sizeLength + (first ? options.indexLength : options.indexDeltaLength);
    first = false;
  }
  const frames: AudioFrame[] = [];
  let offset = 2 + headerBytes;
  for (const [i, size] of sizes.entries()) {
    if (offset + size > payload.length) return frames;
    frames.push({ data: payload.subarray(offset, offset + size), timestamp: (timestamp + i * 1024) >>> 0 });
    offset += size;
  }
  return frames;
}
