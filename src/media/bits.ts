/**
 * Bit-level reading of H.264/H.265 parameter sets: emulation-prevention bytes removed first (00 00 03 →
 * 00 00), then bits, unsigned and signed Exp-Golomb codes. Reading past the end throws `BitstreamError`, so
 * a truncated or hostile SPS is an error, never garbage.
 */

export class BitstreamError extends Error {
  readonly code = "bad-bitstream";
  constructor(message: string) {
    super(message);
    this.name = "BitstreamError";
  }
}

/** The RBSP of a NAL unit: its payload with every emulation-prevention byte (the 03 of 00 00 03) dropped. */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  let zeros = 0;
  let escapes = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      escapes++;
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  if (escapes === 0) return nal;
  const out = new Uint8Array(nal.length - escapes);
  let o = 0;
  zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[o++] = byte;
  }
  return out;
}

export class BitReader {
  private position = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get bitsLeft(): number {
    return this.bytes.length * 8 - this.position;
  }

  bit(): number {
    if (this.position >= this.bytes.length * 8) throw new BitstreamError("read past the end of the data");
    const byte = this.bytes[this.position >> 3] as number;
    const value = (byte >> (7 - (this.position & 7))) & 1;
    this.position++;
    return value;
  }

  /** Up to 32 bits, most significant first. */
  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.bit();
    return value;
  }

  skip(count: number): void {
    if (count > this.bitsLeft) throw new BitstreamError("skipped past the end of the data");
    this.position += count;
  }

  /** ue(v). Codes longer than 31 leading zeros do not occur in valid streams. */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      zeros++;
      if (zeros > 31) throw new BitstreamError("Exp-Golomb code too long");
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  /** se(v). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}
