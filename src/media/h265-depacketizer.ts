/**
 * H.265 access units from RTP (RFC 7798): single NAL units, aggregation packets (AP), fragmentation units
 * (FU, with start and end in one accepted: an OpenIPC bug), and Annex-B start codes inside a packet. DONL
 * fields (sprop-max-don-diff > 0) are not used by these cameras and not supported. The access-unit rules
 * are in `assembler.ts`; a keyframe is any IRAP picture.
 */
import { splitAnnexB } from "./h264.ts";
import { hasStartCode } from "./h264-depacketizer.ts";
import { H265_NAL, h265NalType, isH265Irap } from "./h265.ts";
import { NalDepacketizer } from "./nal-depacketizer.ts";

const RULES = {
  type: h265NalType,
  isVcl: (type: number) => type < 32,
  isKeyframe: isH265Irap,
  parameterSets: [H265_NAL.vps, H265_NAL.sps, H265_NAL.pps],
  aud: H265_NAL.aud,
};

export class H265Depacketizer extends NalDepacketizer {
  /** `parameterSets`: VPS, SPS and PPS from the SDP's sprop-vps/sps/pps, if any. */
  constructor(parameterSets: readonly Uint8Array[] = []) {
    super(RULES, parameterSets);
  }

  protected unpack(payload: Uint8Array): void {
    if (payload.length < 2) return;
    if (payload[0] === 0 || hasStartCode(payload)) {
      for (const nal of splitAnnexB(payload)) this.assembler.add(nal);
      return;
    }
    const type = h265NalType(payload);
    if (type === H265_NAL.ap)
      this.unpackAggregate(payload, 2); // AP: a 2-byte NAL header
    else if (type === H265_NAL.fu) this.unpackFu(payload);
    else if (type > H265_NAL.fu) this.assembler.stats.refused++;
    else this.assembler.add(payload);
  }

  private unpackFu(payload: Uint8Array): void {
    if (payload.length < 4) {
      this.assembler.stats.refused++;
      return;
    }
    const header = payload[2] as number;
    const start = (header & 0x80) !== 0;
    // The NAL header: the FU's own, with the fragment's type put back.
    this.fragmentOf(
      start
        ? Uint8Array.of(((payload[0] as number) & 0x81) | ((header & 0x3f) << 1), payload[1] as number)
        : undefined,
      payload.subarray(3),
      (header & 0x40) !== 0,
    );
  }
}
