/**
 * H.264 access units from RTP (RFC 6184): single NAL units, STAP-A aggregates (padding tolerated), FU-A
 * fragments (a fragment with both start and end set, as CostarHD sends it, is one NAL unit), and Annex-B
 * start codes inside a single-NAL packet (some vendors put several NAL units in one: gortsplib). STAP-B, MTAP
 * and FU-B are refused (packetization mode 2, never seen from these cameras). The access-unit rules are in
 * `assembler.ts`.
 */
import type { AccessUnit, DepacketizerStats } from "./access-unit.ts";
import { AccessUnitAssembler } from "./assembler.ts";
import { H264_NAL, h264NalType, splitAnnexB } from "./h264.ts";
import { type RtpPacket, sequenceDistance } from "./rtp.ts";

const RULES = {
  type: h264NalType,
  isVcl: (type: number) => type >= 1 && type <= 5,
  isKeyframe: (type: number) => type === H264_NAL.idr,
  parameterSets: [H264_NAL.sps, H264_NAL.pps],
  aud: H264_NAL.aud,
};

/** A Uint8Array contains a start code (00 00 01): never inside a NAL unit, thanks to emulation prevention. */
export function hasStartCode(data: Uint8Array): boolean {
  for (let i = 0; i + 2 < data.length; i++)
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) return true;
  return false;
}

export class H264Depacketizer {
  private readonly assembler: AccessUnitAssembler;
  private lastSequence: number | undefined;
  /** The FU-A being put together, as chunks. */
  private fragment: Uint8Array[] | undefined;
  private fragmentBytes = 0;

  /** `parameterSets`: SPS and PPS from the SDP's sprop-parameter-sets, if any. */
  constructor(parameterSets: readonly Uint8Array[] = []) {
    this.assembler = new AccessUnitAssembler(RULES, parameterSets);
  }

  get stats(): DepacketizerStats {
    return this.assembler.stats;
  }

  parameterSets(): Uint8Array[] {
    return this.assembler.parameterSets();
  }

  /** The access units this packet completed (usually none or one). */
  push(packet: RtpPacket): AccessUnit[] {
    const out: AccessUnit[] = [];
    if (this.lastSequence !== undefined) {
      const distance = sequenceDistance(this.lastSequence, packet.sequence);
      // A repeated or late packet (TCP does not reorder; a camera may resend): not ours to use.
      if (distance === 0 || distance > 0x8000) return out;
      if (distance > 1) {
        this.assembler.stats.gaps++;
        this.assembler.drop(this.fragment !== undefined);
        this.fragment = undefined;
      }
    }
    this.lastSequence = packet.sequence;
    const previous = this.assembler.begin(packet.timestamp);
    if (previous) out.push(previous);
    this.unpack(packet.payload);
    if (packet.marker) {
      const done = this.assembler.end();
      if (done) out.push(done);
    }
    return out;
  }

  private unpack(payload: Uint8Array) {
    if (payload.length === 0) return;
    const type = h264NalType(payload);
    if (type === 0 || hasStartCode(payload)) {
      for (const nal of splitAnnexB(payload)) this.assembler.add(nal);
      return;
    }
    if (type >= 1 && type <= 23) return this.assembler.add(payload);
    if (type === H264_NAL.stapA) return this.unpackStapA(payload);
    if (type === H264_NAL.fuA) return this.unpackFuA(payload);
    this.assembler.stats.refused++;
  }

  private unpackStapA(payload: Uint8Array): void {
    let offset = 1;
    while (offset + 2 <= payload.length) {
      const size = ((payload[offset] as number) << 8) | (payload[offset + 1] as number);
      offset += 2;
      // Trailing padding (a zero size) ends the aggregate; a size past the end is a broken packet.
      if (size === 0) return;
      if (offset + size > payload.length) {
        this.assembler.stats.refused++;
        return;
      }
      this.assembler.add(payload.subarray(offset, offset + size));
      offset += size;
    }
  }

  private unpackFuA(payload: Uint8Array): void {
    if (payload.length < 3) {
      this.assembler.stats.refused++;
      return;
    }
    const indicator = payload[0] as number;
    const header = payload[1] as number;
    const start = (header & 0x80) !== 0;
    const end = (header & 0x40) !== 0;
    if (start) {
      this.fragment = [Uint8Array.of((indicator & 0xe0) | (header & 0x1f))];
      this.fragmentBytes = 1;
    } else if (!this.fragment) {
      // A continuation without its start (we joined mid-picture, or the start was lost): nothing to do.
      return;
    }
    const chunk = payload.subarray(2);
    this.fragment.push(chunk);
    this.fragmentBytes += chunk.length;
    if (this.fragmentBytes > 8 * 1024 * 1024) {
      this.assembler.stats.oversized++;
      this.fragment = undefined;
      this.assembler.drop();
      return;
    }
    if (end) {
      const nal = new Uint8Array(this.fragmentBytes);
      let at = 0;
      for (const part of this.fragment) {
        nal.set(part, at);
        at += part.length;
      }
      this.fragment = undefined;
      this.assembler.add(nal);
    }
  }
}
