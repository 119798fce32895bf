/** RTP depacketizers for H.264 and H.265: round trips (property), the quirks cameras send, and bounds. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AccessUnit, VideoCodec } from "../../src/media/access-unit.ts";
import { H264Depacketizer } from "../../src/media/h264-depacketizer.ts";
import { H265Depacketizer } from "../../src/media/h265-depacketizer.ts";
import { packetize } from "../../src/media/packetizer.ts";
import { parseRtp, type RtpPacket, writeRtpHeader } from "../../src/media/rtp.ts";

const hex = (nal: Uint8Array) => Buffer.from(nal).toString("hex");

/** A NAL unit of `type` whose body has no 00 00 0x sequence (as emulation prevention guarantees). */
function nal264(type: number, size: number, seed = 1): Uint8Array {
  const nal = new Uint8Array(size);
  nal[0] = 0x60 | type;
  for (let i = 1; i < size; i++) nal[i] = ((i * 7 + seed) % 250) + 1;
  return nal;
}

function nal265(type: number, size: number, seed = 1): Uint8Array {
  const nal = new Uint8Array(size);
  nal[0] = type << 1;
  nal[1] = 1;
  for (let i = 2; i < size; i++) nal[i] = ((i * 5 + seed) % 250) + 1;
  return nal;
}

function packetsOf(codec: VideoCodec, aus: Uint8Array[][], mtu: number, firstSeq = 65_530): RtpPacket[] {
  const packets: RtpPacket[] = [];
  let seq = firstSeq;
  aus.forEach((nalus, i) => {
    for (const payload of packetize(codec, nalus, mtu)) {
      const header = payload.header ?? new Uint8Array(0);
      const bytes = Buffer.alloc(12 + header.length + payload.data.length);
      writeRtpHeader(bytes, 0, {
        marker: payload.marker,
        payloadType: 96,
        sequence: seq++,
        timestamp: 3600 * i,
        ssrc: 1,
      });
      bytes.set(header, 12);
      bytes.set(payload.data, 12 + header.length);
      packets.push(parseRtp(bytes));
    }
  });
  return packets;
}

function run(depacketizer: { push(p: RtpPacket): AccessUnit[] }, packets: RtpPacket[]): AccessUnit[] {
  return packets.flatMap((packet) => depacketizer.push(packet));
}

const rtp = (
  payload: number[] | Uint8Array,
  sequence: number,
  timestamp: number,
  marker = false,
): RtpPacket => ({
  marker,
  payloadType: 96,
  sequence,
  timestamp,
  ssrc: 1,
  payload: Uint8Array.from(payload),
});

describe("H.264 depacketizer", () => {
  it("gives back the access units that were packetized, whatever the payload size (property)", () => {
    const au = fc.tuple(
      fc.boolean(),
      fc.array(fc.integer({ min: 2, max: 5000 }), { minLength: 1, maxLength: 4 }),
    );
    fc.assert(
      fc.property(
        fc.array(au, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 100, max: 1500 }),
        (spec, mtu) => {
          const aus = spec.map(([key, sizes], i) => [
            ...(key || i === 0 ? [nal264(7, 12), nal264(8, 5)] : []),
            ...sizes.map((size, j) => nal264(key || i === 0 ? 5 : 1, size, i * 10 + j)),
          ]);
          const out = run(new H264Depacketizer(), packetsOf("h264", aus, mtu));
          expect(out.map((a) => a.nalus.map(hex))).toEqual(aus.map((nalus) => nalus.map(hex)));
          expect(out.map((a) => a.timestamp)).toEqual(aus.map((_, i) => 3600 * i));
        },
      ),
    );
  });

  it("takes an FU-A with start and end in one (CostarHD), STAP-A with padding, Annex-B inside a packet", () => {
    const d = new H264Depacketizer();
    const idr = nal264(5, 20);
    // STAP-A: SPS and PPS, then two zero bytes of padding.
    const sps = nal264(7, 6);
    const pps = nal264(8, 4);
    const stap = [24, 0, sps.length, ...sps, 0, pps.length, ...pps, 0, 0];
    expect(d.push(rtp(stap, 1, 0))).toEqual([]);
    const fu = [0x60 | 28, 0xc0 | 5, ...idr.subarray(1)];
    const [first] = d.push(rtp(fu, 2, 0, true));
    expect(first?.nalus.map(hex)).toEqual([sps, pps, idr].map(hex));
    expect(first?.keyframe).toBe(true);
    // Two NAL units with start codes in one single-NAL packet.
    const slice = nal264(1, 9);
    const annexB = [0, 0, 0, 1, ...slice, 0, 0, 1, ...nal264(1, 7, 3)];
    const [second] = d.push(rtp(annexB, 3, 3600, true));
    expect(second?.nalus.map(hex)).toEqual([slice, nal264(1, 7, 3)].map(hex));
  });

  it("ends a picture on a new timestamp when the camera never sets the marker (FLIR M400)", () => {
    const d = new H264Depacketizer();
    expect(d.push(rtp(nal264(5, 10), 10, 0))).toEqual([]);
    const [done] = d.push(rtp(nal264(1, 10), 11, 3600));
    expect(done?.timestamp).toBe(0);
    expect(done?.keyframe).toBe(true);
  });

  it("drops a picture with a missing packet and everything until the next keyframe", () => {
    const d = new H264Depacketizer();
    expect(d.push(rtp(nal264(5, 10), 1, 0, true))).toHaveLength(1);
    const big = nal264(1, 3000);
    const [a, b] = packetize("h264", [big], 1000);
    const asPacket = (p: NonNullable<typeof a>, seq: number) =>
      rtp([...(p.header ?? []), ...p.data], seq, 3600, p.marker);
    d.push(asPacket(a as NonNullable<typeof a>, 2));
    // Packet 3 is lost.
    expect(d.push(asPacket(b as NonNullable<typeof b>, 4))).toEqual([]);
    expect(d.push(rtp(nal264(1, 10), 5, 7200, true))).toEqual([]);
    const [key] = d.push(rtp(nal264(5, 10), 6, 10_800, true));
    expect(key?.keyframe).toBe(true);
    expect(d.stats.gaps).toBe(1);
    expect(d.stats.dropped).toBeGreaterThanOrEqual(2);
  });

  it("holds parameter sets sent alone with the marker (Tapo, Reolink) and puts known ones before a bare IDR", () => {
    const sps = nal264(7, 8);
    const pps = nal264(8, 4);
    const fromSdp = new H264Depacketizer([sps, pps]);
    const [bare] = fromSdp.push(rtp(nal264(5, 10), 1, 0, true));
    expect(bare?.nalus.map(hex)).toEqual([sps, pps, nal264(5, 10)].map(hex));
    const d = new H264Depacketizer();
    expect(d.push(rtp(sps, 1, 0, true))).toEqual([]);
    expect(d.push(rtp(pps, 2, 0, true))).toEqual([]);
    const [au] = d.push(rtp(nal264(5, 10), 3, 0, true));
    expect(au?.nalus.map(hex)).toEqual([sps, pps, nal264(5, 10)].map(hex));
  });

  it("bounds a picture that never ends, and refuses STAP-B, MTAP and FU-B", () => {
    const d = new H264Depacketizer();
    d.push(rtp(nal264(5, 10), 1, 0, true));
    for (let i = 0; i < 300; i++) d.push(rtp(nal264(1, 100, i), 2 + i, 3600));
    expect(d.stats.oversized).toBeGreaterThan(0);
    for (const type of [25, 26, 27, 29]) d.push(rtp([type, 1, 2, 3], 400 + type, 7200));
    expect(d.stats.refused).toBe(4);
  });

  it("keeps no view into a packet's buffer: what it holds and gives back owns its bytes (issue 28)", () => {
    // Every payload a view into its own 60 kB "socket chunk", as RtspReader hands them over.
    const inChunk = (payload: number[] | Uint8Array) => {
      const chunk = new Uint8Array(60_000);
      chunk.set(payload, 100);
      return chunk.subarray(100, 100 + payload.length);
    };
    const packet = (payload: number[] | Uint8Array, sequence: number, timestamp: number, marker = false) => ({
      ...rtp(payload, sequence, timestamp, marker),
      payload: inChunk(payload),
    });
    for (const make of [() => new H264Depacketizer(), () => new H265Depacketizer()]) {
      const d = make();
      const h264 = d instanceof H264Depacketizer;
      const idr = h264 ? nal264(5, 40) : nal265(19, 40);
      const p = h264 ? nal264(1, 30) : nal265(1, 30);
      const units = [
        ...d.push(packet(idr, 1, 0, true)),
        ...d.push(packet(p, 2, 3600, true)),
        // A NAL unit in 1-byte fragments (FU-A / FU), each in a chunk of its own.
        ...Array.from({ length: 50 }, (_, i) => {
          const end = i === 49;
          const fu = h264
            ? [0x7c, (i === 0 ? 0x80 : 0) | (end ? 0x40 : 0) | 1, i + 1]
            : [49 << 1, 1, (i === 0 ? 0x80 : 0) | (end ? 0x40 : 0) | 1, i + 1];
          return d.push(packet(fu, 3 + i, 7200, end));
        }).flat(),
      ];
      expect(units).toHaveLength(3);
      for (const unit of units)
        for (const nal of unit.nalus) expect(nal.buffer.byteLength).toBeLessThan(1000);
      expect(units[2]?.bytes).toBe(h264 ? 51 : 52);
    }
  });

  it("bounds a fragmented NAL unit by its count of fragments as well as its bytes", () => {
    const d = new H264Depacketizer();
    d.push(rtp(nal264(5, 10), 1, 0, true));
    d.push(rtp([0x7c, 0x81, 1], 2, 3600));
    for (let i = 0; i < 20_000; i++) d.push(rtp([0x7c, 0x01, 1], 3 + i, 3600));
    expect(d.stats.oversized).toBe(1);
  });

  it("never throws on garbage payloads (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 30 }), (payloads) => {
        const d = new H264Depacketizer();
        payloads.forEach((payload, i) => {
          d.push(rtp(payload, i, Math.floor(i / 3), i % 3 === 2));
        });
      }),
    );
  });
});

describe("H.265 depacketizer", () => {
  it("gives back the access units that were packetized (property), with IRAP pictures as keyframes", () => {
    const au = fc.tuple(
      fc.boolean(),
      fc.array(fc.integer({ min: 3, max: 4000 }), { minLength: 1, maxLength: 3 }),
    );
    fc.assert(
      fc.property(
        fc.array(au, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 100, max: 1500 }),
        (spec, mtu) => {
          const aus = spec.map(([key, sizes], i) => [
            ...(key || i === 0 ? [nal265(32, 10), nal265(33, 20), nal265(34, 6)] : []),
            ...sizes.map((size, j) => nal265(key || i === 0 ? 19 : 1, size, i * 10 + j)),
          ]);
          const out = run(new H265Depacketizer(), packetsOf("h265", aus, mtu));
          expect(out.map((a) => a.nalus.map(hex))).toEqual(aus.map((nalus) => nalus.map(hex)));
          expect(out.map((a) => a.keyframe)).toEqual(spec.map(([key], i) => key || i === 0));
        },
      ),
    );
  });

  it("reads aggregation packets and an FU with start and end in one (OpenIPC)", () => {
    const d = new H265Depacketizer();
    const vps = nal265(32, 6);
    const sps = nal265(33, 9);
    const ap = [48 << 1, 1, 0, vps.length, ...vps, 0, sps.length, ...sps];
    d.push(rtp(ap, 1, 0));
    const idr = nal265(19, 12);
    const [au] = d.push(rtp([49 << 1, 1, 0xc0 | 19, ...idr.subarray(2)], 2, 0, true));
    expect(au?.nalus.map(hex)).toEqual([vps, sps, idr].map(hex));
  });
});
