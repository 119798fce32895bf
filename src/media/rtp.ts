/**
 * RTP packets (RFC 3550): the 12-byte header read without copying the payload (CSRCs, a header extension
 * and padding skipped), and written into a caller's buffer, so a relay serialises each packet once.
 */

export class RtpError extends Error {
  readonly code = "bad-rtp";
  constructor(message: string) {
    super(message);
    this.name = "RtpError";
  }
}

export interface RtpPacket {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** A view into the packet's bytes. */
  payload: Uint8Array;
}

export const RTP_HEADER_BYTES = 12;

export function parseRtp(packet: Uint8Array): RtpPacket {
  if (packet.length < RTP_HEADER_BYTES) throw new RtpError(`RTP packet of ${packet.length} bytes`);
  const first = packet[0] as number;
  if (first >> 6 !== 2) throw new RtpError(`RTP version ${first >> 6}`);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  let offset = RTP_HEADER_BYTES + (first & 0x0f) * 4;
  if (first & 0x10) {
    if (offset + 4 > packet.length) throw new RtpError("RTP header extension past the end");
    offset += 4 + view.getUint16(offset + 2) * 4;
  }
  let end = packet.length;
  if (first & 0x20) {
    const padding = packet[packet.length - 1] as number;
    if (padding === 0 || padding > packet.length - offset)
      throw new RtpError(`RTP padding of ${padding} bytes`);
    end -= padding;
  }
  if (offset > end) throw new RtpError("RTP header longer than the packet");
  const second = packet[1] as number;
  return {
    marker: (second & 0x80) !== 0,
    payloadType: second & 0x7f,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payload: packet.subarray(offset, end),
  };
}

export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
}

/** Writes a 12-byte RTP header (no CSRC, no extension, no padding) at `offset`. */
export function writeRtpHeader(target: Buffer, offset: number, header: RtpHeader): void {
  target[offset] = 0x80;
  target[offset + 1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  target.writeUInt16BE(header.sequence & 0xffff, offset + 2);
  target.writeUInt32BE(header.timestamp >>> 0, offset + 4);
  target.writeUInt32BE(header.ssrc >>> 0, offset + 8);
}

/** The distance from `from` to `to` in RTP sequence numbers (wrapping at 2^16): 1 for the next packet. */
export function sequenceDistance(from: number, to: number): number {
  return (to - from + 0x10000) & 0xffff;
}

/** Packets in a row from one new SSRC after which it is taken as the stream's (an encoder restart). */
export const SSRC_SWITCH_PACKETS = 50;

/**
 * Which packets of a channel belong to its stream: one SSRC per track (RFC 3550), the first seen. A packet
 * of another SSRC is stray (a broken frame, a stale sender on the socket) and would otherwise read as a
 * sequence gap that costs the pictures up to the next keyframe; a new SSRC that holds for
 * SSRC_SWITCH_PACKETS packets in a row is the camera's new one. go2rtc does not check, gortsplib does.
 */
export class SsrcLock {
  private ssrc: number | undefined;
  private candidate: number | undefined;
  private run = 0;

  accept(ssrc: number): boolean {
    if (this.ssrc === undefined || ssrc === this.ssrc) {
      this.ssrc = ssrc;
      this.candidate = undefined;
      this.run = 0;
      return true;
    }
    this.run = ssrc === this.candidate ? this.run + 1 : 1;
    this.candidate = ssrc;
    if (this.run < SSRC_SWITCH_PACKETS) return false;
    this.ssrc = ssrc;
    this.candidate = undefined;
    this.run = 0;
    return true;
  }
}
