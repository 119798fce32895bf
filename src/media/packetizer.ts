/**
 * RTP payloads from access units: each NAL unit in one packet when it fits the payload size, otherwise as
 * fragments (FU-A for H.264, RFC 6184 §5.8; FU for H.265, RFC 7798 §4.4.3). The marker bit goes on the
 * last packet of the access unit. Used by camgate's RTSP server and WebRTC re-packetisation; payloads are
 * views and small headers, copied once when the caller serialises the packets.
 */
import type { VideoCodec } from "./access-unit.ts";

export interface RtpPayload {
  /** A fragment header (FU indicator and header) to write before `data`, if any. */
  header: Uint8Array | undefined;
  data: Uint8Array;
  marker: boolean;
}

/** The payload size camgate sends: 1400 bytes keeps an interleaved packet inside one Ethernet frame. */
export const DEFAULT_PAYLOAD_BYTES = 1400;

export function packetize(
  codec: VideoCodec,
  nalus: readonly Uint8Array[],
  maxPayload = DEFAULT_PAYLOAD_BYTES,
): RtpPayload[] {
  const out: RtpPayload[] = [];
  const headerBytes = codec === "h264" ? 1 : 2;
  const fuHeaderBytes = codec === "h264" ? 2 : 3;
  const room = maxPayload - fuHeaderBytes;
  if (room < 1) throw new RangeError(`a payload size of ${maxPayload} leaves no room for data`);
  for (const nal of nalus) {
    if (nal.length <= headerBytes) continue;
    if (nal.length <= maxPayload) {
      out.push({ header: undefined, data: nal, marker: false });
      continue;
    }
    const body = nal.subarray(headerBytes);
    for (let at = 0; at < body.length; at += room) {
      const start = at === 0;
      const end = at + room >= body.length;
      const flags = (start ? 0x80 : 0) | (end ? 0x40 : 0);
      let header: Uint8Array;
      if (codec === "h264") {
        const first = nal[0] as number;
        header = Uint8Array.of((first & 0xe0) | 28, flags | (first & 0x1f));
      } else {
        const type = ((nal[0] as number) >> 1) & 0x3f;
        header = Uint8Array.of(((nal[0] as number) & 0x81) | (49 << 1), nal[1] as number, flags | type);
      }
      out.push({ header, data: body.subarray(at, Math.min(body.length, at + room)), marker: false });
    }
  }
  const last = out[out.length - 1];
  if (last) last.marker = true;
  return out;
}
