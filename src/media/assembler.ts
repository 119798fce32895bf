/**
 * Access units from NAL units, for both H.264 and H.265: a picture ends at the RTP marker bit or when the
 * timestamp changes (some cameras never set the marker: FLIR M400, gortsplib's decoder); a sequence gap drops
 * the picture and everything until the next keyframe (a decoder would show garbage otherwise); a picture that
 * grows past the size caps is dropped (lost markers, a hostile camera). Parameter sets sent on their own
 * (with the marker set: Tapo TC70, Reolink Duo 2, go2rtc's h264/rtp.go) are held for the next picture, and
 * the last ones seen (in band, or from the SDP) are put before a keyframe that arrives without them. A
 * finished picture owns its bytes (no view into a socket chunk outlives the chunk's packet).
 */
import {
  type AccessUnit,
  type DepacketizerStats,
  emptyStats,
  MAX_ACCESS_UNIT_BYTES,
  MAX_NALUS_PER_ACCESS_UNIT,
} from "./access-unit.ts";

export interface NalRules {
  type(nal: Uint8Array): number;
  isVcl(type: number): boolean;
  isKeyframe(type: number): boolean;
  /** The parameter set types a keyframe needs before it, in order (SPS, PPS; VPS, SPS, PPS). */
  parameterSets: readonly number[];
  /** The access unit delimiter type, which stays first. */
  aud: number;
}

export class AccessUnitAssembler {
  readonly stats: DepacketizerStats = emptyStats();
  private nalus: Uint8Array[] = [];
  private bytes = 0;
  private timestamp: number | undefined;
  private waitingForKeyframe = true;
  private readonly latest = new Map<number, Uint8Array>();

  constructor(
    private readonly rules: NalRules,
    parameterSets: readonly Uint8Array[] = [],
  ) {
    for (const nal of parameterSets) this.remember(nal);
  }

  /** The parameter sets seen last, in the order a decoder needs them. */
  parameterSets(): Uint8Array[] {
    return this.rules.parameterSets.map((type) => this.latest.get(type)).filter((n) => n !== undefined);
  }

  /** A packet of this timestamp starts: a different timestamp ends the picture in progress. */
  begin(timestamp: number): AccessUnit | undefined {
    if (this.timestamp !== undefined && timestamp !== this.timestamp && this.nalus.length > 0) {
      const done = this.finish();
      this.timestamp = timestamp;
      return done;
    }
    this.timestamp = timestamp;
    return undefined;
  }

  add(nal: Uint8Array): void {
    if (nal.length === 0) return;
    const type = this.rules.type(nal);
    if (this.rules.parameterSets.includes(type)) this.remember(nal);
    if (this.nalus.length >= MAX_NALUS_PER_ACCESS_UNIT || this.bytes + nal.length > MAX_ACCESS_UNIT_BYTES) {
      this.stats.oversized++;
      this.drop();
      return;
    }
    this.nalus.push(nal);
    this.bytes += nal.length;
  }

  /** The marker bit: the picture is complete. */
  end(): AccessUnit | undefined {
    return this.nalus.length > 0 ? this.finish() : undefined;
  }

  /**
   * A packet is missing: the picture in progress is lost, and so is everything up to the next keyframe.
   * `partial`: the depacketizer was in the middle of a fragmented NAL unit of that picture.
   */
  drop(partial = false): void {
    if (partial || this.nalus.some((nal) => this.rules.isVcl(this.rules.type(nal)))) this.stats.dropped++;
    this.nalus = [];
    this.bytes = 0;
    this.waitingForKeyframe = true;
  }

  private remember(nal: Uint8Array): void {
    // A copy: the NAL unit may be a view into a packet buffer the caller reuses.
    this.latest.set(this.rules.type(nal), Uint8Array.from(nal));
  }

  private finish(): AccessUnit | undefined {
    const nalus = this.nalus;
    const types = nalus.map((nal) => this.rules.type(nal));
    if (!types.some((type) => this.rules.isVcl(type))) {
      // Parameter sets, SEI or a delimiter alone: they belong to the next picture; keep them.
      return undefined;
    }
    this.nalus = [];
    this.bytes = 0;
    const keyframe = types.some((type) => this.rules.isKeyframe(type));
    if (this.waitingForKeyframe && !keyframe) {
      this.stats.dropped++;
      return undefined;
    }
    this.waitingForKeyframe = false;
    let out = nalus;
    if (keyframe) {
      const missing = this.rules.parameterSets.filter((type) => !types.includes(type));
      const prepend = missing.map((type) => this.latest.get(type)).filter((n) => n !== undefined);
      if (prepend.length > 0) {
        const aud = types[0] === this.rules.aud ? 1 : 0;
        out = [...nalus.slice(0, aud), ...prepend, ...nalus.slice(aud)];
      }
    }
    this.stats.accessUnits++;
    out = ownBuffers(out);
    return {
      nalus: out,
      timestamp: this.timestamp ?? 0,
      keyframe,
      bytes: out.reduce((sum, nal) => sum + nal.length, 0),
    };
  }
}

/**
 * The NAL units in buffers of their own: a unit is kept beyond its packet (the GOP cache, the clip
 * pre-roll), and a view into a socket chunk would keep the whole chunk (a hostile camera's tiny pictures in
 * padded 60 kB chunks). Those that are views are copied into one block sized to them; the cost is one copy
 * of the picture's bytes.
 */
function ownBuffers(nalus: Uint8Array[]): Uint8Array[] {
  let borrowed = 0;
  for (const nal of nalus) if (!ownsBuffer(nal)) borrowed += nal.length;
  if (borrowed === 0) return nalus;
  const block = new Uint8Array(borrowed);
  let at = 0;
  return nalus.map((nal) => {
    if (ownsBuffer(nal)) return nal;
    block.set(nal, at);
    const copy = block.subarray(at, at + nal.length);
    at += nal.length;
    return copy;
  });
}

const ownsBuffer = (nal: Uint8Array) => nal.byteOffset === 0 && nal.byteLength === nal.buffer.byteLength;
