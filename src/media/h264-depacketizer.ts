/**
 * H.264 access units from RTP (RFC 6184): single NAL units, STAP-A aggregates (padding tolerated), FU-A
 * fragments (a fragment with both start and end set, as CostarHD sends it, is one NAL unit), and Annex-B
 * start codes inside a single-NAL packet (some vendors put several NAL units in one: gortsplib). STAP-B, MTAP
 * and FU-B are refused (packetization mode 2, never seen from these cameras). The access-unit rules are in
 * `assembler.ts`.
 */
import { H264_NAL, h264NalType, splitAnnexB } from "./h264.ts";
import { NalDepacketizer } from "./nal-depacketizer.ts";

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

export class H264Depacketizer extends NalDepacketizer {
  /** `parameterSets`: SPS and PPS from the SDP's sprop-parameter-sets, if any. */
  constructor(parameterSets: readonly Uint8Array[] = []) {
    super(RULES, parameterSets);
  }

  protected unpack(payload: Uint8Array): void {
    if (payload.length === 0) return;
    const type = h264NalType(payload);
    if (type === 0 || hasStartCode(payload)) {
      for (const nal of splitAnnexB(payload)) this.assembler.add(nal);
      return;
    }
    if (type >= 1 && type <= 23) this.assembler.add(payload);
    else if (type === H264_NAL.stapA)
      this.unpackAggregate(payload, 1); // STAP-A: a 1-byte NAL header
    else if (type === H264_NAL.fuA) this.unpackFuA(payload);
    else this.assembler.stats.refused++;
  }

  private unpackFuA(payload: Uint8Array): void {
    if (payload.length < 3) {
      this.assembler.stats.refused++;
      return;
    }
    const indicator = payload[0] as number;
    const header = payload[1] as number;
    const start = (header & 0x80) !== 0;
    this.fragmentOf(
      start ? Uint8Array.of((indicator & 0xe0) | (header & 0x1f)) : undefined,
      payload.subarray(2),
      (header & 0x40) !== 0,
    );
  }
}
