/**
 * H.265 access units from RTP (RFC 7798): single NAL units, aggregation packets (AP), fragmentation units
 * (FU, with start and end in one accepted: an OpenIPC bug), and Annex-B start codes inside a packet. DONL
 * fields (sprop-max-don-diff > 0) are not used by these cameras and not supported. The access-unit rules
 * are in `assembler.ts`; a keyframe is any IRAP picture.
 */
import type { AccessUnit, DepacketizerStats } from "./access-unit.ts";
import { AccessUnitAssembler } from "./assembler.ts";
import { splitAnnexB } from "./h264.ts";
import { hasStartCode } from "./h264-depacketizer.ts";
import { H265_NAL, h265NalType, isH265Irap } from "./h265.ts";
import { type RtpPacket, sequenceDistance } from "./rtp.ts";

const RULES = {
  type: h265NalType,
  isVcl: (type: number) => type < 32,
  isKeyframe: isH265Irap,
  parameterSets: [H265_NAL.vps, H265_NAL.sps, H265_NAL.pps],
  aud: H265_NAL.aud,
};

export class H265Depacketizer {
  private readonly assembler: AccessUnitAssembler;
  private lastSequence: number | undefined;
  private fragment: Uint8Array[] | undefined;
  private fragmentBytes = 0;

  /** `parameterSets`: VPS, SPS and PPS from the SDP's sprop-vps/sps/pps, if any. */
  constructor(parameterSets: readonly Uint8Array[] = []) {
    this.assembler = new AccessUnitAssembler(RULES, parameterSets);
  }

  get stats(): DepacketizerStats {
    return this.assembler.stats;
  }

  parameterSets(): Uint8Array[] {
    return this.assembler.parameterSets();
  }

  push(packet: RtpPacket): AccessUnit[] {
    const out: AccessUnit[] = [];
    if (this.lastSequence !== undefined) {
      const distance = sequenceDistance(this.lastSequence, packet.sequence);
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
    if (payload.length < 2) return;
    if (payload[0] === 0 || hasStartCode(payload)) {
      for (const nal of splitAnnexB(payload)) this.assembler.add(nal);
      return;
    }
    const type = h265NalType(payload);
    if (type === H265_NAL.ap) return this.unpackAp(payload);
    if (type === H265_NAL.fu) return this.unpackFu(payload);
    if (type > H265_NAL.fu) {
      this.assembler.stats.refused++;
      return;
    }
    this.assembler.add(payload);
  }

  private unpackAp(payload: Uint8Array): void {
    let offset = 2;
    while (offset + 2 <= payload.length) {
      const size = ((payload[offset] as number) << 8) | (payload[offset + 1] as number);
      offset += 2;
      if (size === 0) return;
      if (offset + size > payload.length) {
        this.assembler.stats.refused++;
        return;
      }
      this.assembler.add(payload.subarray(offset, offset + size));
      offset += size;
    }
  }

  private unpackFu(payload: Uint8Array): void {
    if (payload.length < 4) {
      this.assembler.stats.refused++;
      return;
    }
    const header = payload[2] as number;
    const start = (header & 0x80) !== 0;
    const end = (header & 0x40) !== 0;
    if (start) {
      // The NAL header: the FU's own, with the fragment's type put back.
      const first = ((payload[0] as number) & 0x81) | ((header & 0x3f) << 1);
      this.fragment = [Uint8Array.of(first, payload[1] as number)];
      this.fragmentBytes = 2;
    } else if (!this.fragment) {
      return;
    }
    const chunk = payload.subarray(3);
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
