/**
 * What the H.264 and H.265 depacketizers share: packets in sequence (a repeat or a late one ignored, a gap
 * drops the picture in progress), pictures ended by a timestamp change or the marker bit, and the
 * fragmented NAL unit being put together. Each codec says only how its payloads unpack.
 */
import type { AccessUnit, DepacketizerStats } from "./access-unit.ts";
import { AccessUnitAssembler, type NalRules } from "./assembler.ts";
import { FragmentedNal } from "./fragments.ts";
import { type RtpPacket, sequenceDistance } from "./rtp.ts";

export abstract class NalDepacketizer {
  protected readonly assembler: AccessUnitAssembler;
  protected readonly fragment = new FragmentedNal();
  private lastSequence: number | undefined;

  constructor(rules: NalRules, parameterSets: readonly Uint8Array[]) {
    this.assembler = new AccessUnitAssembler(rules, parameterSets);
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
        this.assembler.drop(this.fragment.inProgress);
        this.fragment.abandon();
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

  protected abstract unpack(payload: Uint8Array): void;

  /**
   * One fragment of a fragmented NAL unit: `header` (the reconstructed NAL header) when it starts one, the
   * payload after the fragment's own headers, and whether it ends it.
   */
  /**
   * An aggregation packet (H.264 STAP-A, H.265 AP) after its `headerBytes`-long NAL header: NAL units each
   * behind a 16-bit size. Trailing padding (a zero size) ends the aggregate; a size past the end is a
   * broken packet, refused.
   */
  protected unpackAggregate(payload: Uint8Array, headerBytes: number): void {
    let offset = headerBytes;
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

  protected fragmentOf(header: Uint8Array | undefined, payload: Uint8Array, end: boolean): void {
    if (header) this.fragment.start(header);
    // A continuation without its start (we joined mid-picture, or the start was lost): nothing to do.
    else if (!this.fragment.inProgress) return;
    if (!this.fragment.add(payload)) {
      this.assembler.stats.oversized++;
      this.assembler.drop();
      return;
    }
    if (end) {
      const nal = this.fragment.finish();
      if (nal) this.assembler.add(nal);
    }
  }
}
