/** The SDP camgate's RTSP server answers DESCRIBE with: the stream's live parameter sets, never stale ones. */
import { H264_NAL, h264NalType } from "../../media/h264.ts";
import { H265_NAL, h265NalType } from "../../media/h265.ts";
import { buildSdp, type OutgoingMedia } from "../../protocol/sdp.ts";
import type { StreamTracks } from "../../relay/stream-hub.ts";
import { AAC_PAYLOAD_TYPE, VIDEO_PAYLOAD_TYPE } from "./rtp-output.ts";

const b64 = (nal: Uint8Array) => Buffer.from(nal).toString("base64");

export function describeStream(tracks: StreamTracks, name: string, origin: string): string {
  const media: OutgoingMedia[] = [];
  if (tracks.codec === "h264") {
    const sps = tracks.parameterSets.find((nal) => h264NalType(nal) === H264_NAL.sps);
    const fmtp = [
      "packetization-mode=1",
      ...(sps && sps.length >= 4
        ? [`profile-level-id=${Buffer.from(sps.subarray(1, 4)).toString("hex").toUpperCase()}`]
        : []),
      ...(tracks.parameterSets.length > 0
        ? [`sprop-parameter-sets=${tracks.parameterSets.map(b64).join(",")}`]
        : []),
    ].join(";");
    media.push({
      kind: "video",
      payloadType: VIDEO_PAYLOAD_TYPE,
      encoding: "H264",
      clockRate: 90000,
      fmtp,
      control: "trackID=0",
    });
  } else {
    const find = (type: number) => tracks.parameterSets.find((nal) => h265NalType(nal) === type);
    const sets: [string, Uint8Array | undefined][] = [
      ["sprop-vps", find(H265_NAL.vps)],
      ["sprop-sps", find(H265_NAL.sps)],
      ["sprop-pps", find(H265_NAL.pps)],
    ];
    const fmtp = sets.flatMap(([key, nal]) => (nal ? [`${key}=${b64(nal)}`] : [])).join(";");
    media.push({
      kind: "video",
      payloadType: VIDEO_PAYLOAD_TYPE,
      encoding: "H265",
      clockRate: 90000,
      ...(fmtp ? { fmtp } : {}),
      control: "trackID=0",
    });
  }
  const audio = tracks.audio;
  if (audio?.codec === "pcma" || audio?.codec === "pcmu") {
    media.push({
      kind: "audio",
      payloadType: audio.codec === "pcma" ? 8 : 0,
      encoding: audio.codec === "pcma" ? "PCMA" : "PCMU",
      clockRate: audio.clockRate,
      control: "trackID=1",
    });
  } else if (audio?.codec === "aac" && audio.aac) {
    media.push({
      kind: "audio",
      payloadType: AAC_PAYLOAD_TYPE,
      encoding: "MPEG4-GENERIC",
      clockRate: audio.aac.sampleRate,
      channels: audio.aac.channels,
      fmtp: `streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=${Buffer.from(audio.aac.config).toString("hex")}`,
      control: "trackID=1",
    });
  }
  return buildSdp({ origin, name, media });
}
