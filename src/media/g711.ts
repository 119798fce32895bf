/**
 * G.711 (ITU-T G.711, 1988): 16-bit linear PCM to 8-bit A-law or µ-law and back, as Dahua's
 * `audio.cgi?action=postAudio` takes it (`Content-Type: Audio/G.711A` or `Audio/G.711Mu`, 8 kHz mono).
 * The segment encoders of the Sun reference implementation (g711.c, public domain), written from the
 * standard's tables. No I/O.
 */

const SEGMENT_ENDS_A = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
const SEGMENT_ENDS_U = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
const U_BIAS = 0x84;
const U_CLIP = 8159;

function segmentOf(value: number, ends: readonly number[]): number {
  for (let i = 0; i < ends.length; i++) if (value <= (ends[i] as number)) return i;
  return ends.length;
}

/** One 16-bit sample to A-law. */
export function linearToAlaw(sample: number): number {
  let pcm = sample >> 3;
  let mask: number;
  if (pcm >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  const segment = segmentOf(pcm, SEGMENT_ENDS_A);
  if (segment >= 8) return 0x7f ^ mask;
  let code = segment << 4;
  code |= segment < 2 ? (pcm >> 1) & 0x0f : (pcm >> segment) & 0x0f;
  return code ^ mask;
}

export function alawToLinear(byte: number): number {
  const value = byte ^ 0x55;
  let t = (value & 0x0f) << 4;
  const segment = (value & 0x70) >> 4;
  if (segment === 0) t += 8;
  else if (segment === 1) t += 0x108;
  else t = (t + 0x108) << (segment - 1);
  return value & 0x80 ? t : -t;
}

/** One 16-bit sample to µ-law. */
export function linearToUlaw(sample: number): number {
  let pcm = sample >> 2;
  let mask: number;
  if (pcm < 0) {
    pcm = -pcm;
    mask = 0x7f;
  } else mask = 0xff;
  if (pcm > U_CLIP) pcm = U_CLIP;
  pcm += U_BIAS >> 2;
  const segment = segmentOf(pcm, SEGMENT_ENDS_U);
  if (segment >= 8) return 0x7f ^ mask;
  return ((segment << 4) | ((pcm >> (segment + 1)) & 0x0f)) ^ mask;
}

export function ulawToLinear(byte: number): number {
  const value = ~byte & 0xff;
  let t = ((value & 0x0f) << 3) + U_BIAS;
  t <<= (value & 0x70) >> 4;
  return value & 0x80 ? U_BIAS - t : t - U_BIAS;
}

export type G711Law = "alaw" | "ulaw";

/** Little-endian 16-bit PCM (an odd trailing byte is ignored) to G.711 bytes. */
export function encodeG711(pcm: Uint8Array, law: G711Law): Buffer {
  const samples = pcm.length >> 1;
  const out = Buffer.allocUnsafe(samples);
  const view = new DataView(pcm.buffer, pcm.byteOffset, samples * 2);
  const encode = law === "alaw" ? linearToAlaw : linearToUlaw;
  for (let i = 0; i < samples; i++) out[i] = encode(view.getInt16(i * 2, true));
  return out;
}

export function decodeG711(bytes: Uint8Array, law: G711Law): Int16Array {
  const decode = law === "alaw" ? alawToLinear : ulawToLinear;
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = decode(bytes[i] as number);
  return out;
}
