/**
 * A Node WebRTC viewer for tests (werift as the client, loopback only): makes a receive-only offer, POSTs it
 * to camgate, applies the answer and counts the RTP packets that arrive. The browser tests use Chromium;
 * this one is for many viewers and for the HTTP side of the exchange.
 */
import { RTCPeerConnection, RTCRtpCodecParameters } from "werift";

export interface NodeViewer {
  status: number;
  location: string | undefined;
  body: string;
  videoPackets: () => number;
  audioPackets: () => number;
  close(): Promise<void>;
}

/** A receive-only offer whose only candidate is on 127.0.0.1. */
export async function makeOffer(): Promise<{ pc: RTCPeerConnection; sdp: string }> {
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: "127.0.0.1" },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceFilterCandidatePair: (pair) => pair.remoteCandidate.host.startsWith("127."),
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: "video/H264",
          clockRate: 90_000,
          rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
          parameters: "packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1",
        }),
      ],
      audio: [
        new RTCRtpCodecParameters({ mimeType: "audio/PCMA", clockRate: 8000, channels: 1, payloadType: 8 }),
      ],
    },
  });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete")
    await pc.iceGatheringStateChange.watch((state) => state === "complete", 3000).catch(() => undefined);
  const sdp = (pc.localDescription?.sdp ?? "")
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || line.includes(" 127.0.0.1 "))
    .join("\r\n");
  return { pc, sdp };
}

export async function watchWebRtc(url: string, headers: Record<string, string> = {}): Promise<NodeViewer> {
  const { pc, sdp } = await makeOffer();
  let video = 0;
  let audio = 0;
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe(() => {
      if (track.kind === "video") video++;
      else audio++;
    });
  });
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...headers },
    body: sdp,
  });
  const body = await response.text();
  if (response.status === 201) await pc.setRemoteDescription({ type: "answer", sdp: body });
  return {
    status: response.status,
    location: response.headers.get("location") ?? undefined,
    body,
    videoPackets: () => video,
    audioPackets: () => audio,
    close: () => pc.close(),
  };
}
