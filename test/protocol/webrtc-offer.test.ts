/**
 * What camgate keeps of a browser's WebRTC offer: one H.264 payload type with packetization-mode=1 (the
 * stream's profile preferred), the camera's G.711, no mDNS candidates; refusals with a typed error. Offers
 * as Chromium writes them (a shortened real one), plus a property over payload orders.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OfferError, prepareOffer } from "../../src/protocol/webrtc-offer.ts";

/** Chromium's offer, shortened: H.264 variants in its order (mode 1 and 0 of each profile), VP8 first. */
function chromeOffer(order = ["96", "102", "104", "108", "112", "127"]): string {
  const h264: Record<string, string> = {
    "102": "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
    "104": "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
    "108": "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    "112": "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f",
    "127": "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640034",
  };
  const lines = [
    "v=0",
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0 1",
    `m=video 9 UDP/TLS/RTP/SAVPF ${order.join(" ")}`,
    "c=IN IP4 0.0.0.0",
    "a=candidate:1 1 udp 2113937151 9b36eaac-bb2e-49bb-bb78-21c41c499900.local 50000 typ host generation 0",
    "a=candidate:2 1 udp 2113937151 192.168.1.20 50001 typ host generation 0",
    "a=mid:0",
    "a=recvonly",
  ];
  for (const pt of order) {
    if (pt === "96") lines.push("a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack");
    else lines.push(`a=rtpmap:${pt} H264/90000`, `a=rtcp-fb:${pt} nack pli`, `a=fmtp:${pt} ${h264[pt]}`);
  }
  lines.push(
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8",
    "a=mid:1",
    "a=recvonly",
    "a=rtpmap:111 opus/48000/2",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
  );
  return `${lines.join("\r\n")}\r\n`;
}

const videoLine = (sdp: string) => sdp.split("\r\n").find((line) => line.startsWith("m=video")) ?? "";
const audioLine = (sdp: string) => sdp.split("\r\n").find((line) => line.startsWith("m=audio")) ?? "";

describe("prepareOffer", () => {
  it("keeps the stream's profile with packetization-mode=1 and drops the other H.264 variants", () => {
    const main = prepareOffer(chromeOffer(), 0x4d);
    expect(main.h264PayloadType).toBe("112");
    expect(videoLine(main.sdp)).toBe("m=video 9 UDP/TLS/RTP/SAVPF 96 112");
    expect(main.sdp).not.toContain("a=fmtp:104");
    expect(main.sdp).toContain("a=fmtp:112 ");
    expect(main.sdp).toContain("a=rtpmap:96 VP8/90000");
    // Baseline cameras (and the counter encoder, profile 66) get a Baseline variant, mode 1.
    expect(prepareOffer(chromeOffer(), 66).h264PayloadType).toBe("102");
    // A profile the browser does not list: Constrained Baseline with mode 1.
    expect(prepareOffer(chromeOffer(), 0x58).h264PayloadType).toBe("108");
  });

  it("never picks packetization-mode=0, whatever the order", () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(["102", "104", "108", "112", "127"], { minLength: 1 }),
        fc.constantFrom(66, 77, 100, undefined),
        (order, profile) => {
          const modeOne = order.filter((pt) => pt !== "104");
          if (modeOne.length === 0) {
            expect(() => prepareOffer(chromeOffer(order), profile)).toThrow(OfferError);
            return;
          }
          const { h264PayloadType, sdp } = prepareOffer(chromeOffer(order), profile);
          expect(modeOne).toContain(h264PayloadType);
          const kept = videoLine(sdp).split(" ").slice(3);
          expect(kept).toEqual([h264PayloadType]);
        },
      ),
    );
  });

  it("keeps the camera's G.711 flavour only", () => {
    expect(audioLine(prepareOffer(chromeOffer(), 66, "pcma").sdp)).toBe("m=audio 9 UDP/TLS/RTP/SAVPF 111 8");
    expect(audioLine(prepareOffer(chromeOffer(), 66, "pcmu").sdp)).toBe("m=audio 9 UDP/TLS/RTP/SAVPF 111 0");
    expect(audioLine(prepareOffer(chromeOffer(), 66).sdp)).toBe("m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8");
  });

  it("drops mDNS candidates (their lookup would be multicast) and keeps address ones", () => {
    const { sdp } = prepareOffer(chromeOffer(), 66);
    expect(sdp).not.toContain(".local");
    expect(sdp).toContain("192.168.1.20 50001");
  });

  it("refuses what is not an offer it can answer, with OfferError", () => {
    expect(() => prepareOffer("hello", 66)).toThrow(OfferError);
    expect(() => prepareOffer("v=0\r\nm=audio 9 RTP/AVP 0\r\n", 66)).toThrow(/no video/);
    expect(() =>
      prepareOffer("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n", 66),
    ).toThrow(/packetization-mode=1/);
    expect(() => prepareOffer(`v=0\r\n${"a=x\r\n".repeat(20_000)}`, 66)).toThrow(/over/);
  });
});
