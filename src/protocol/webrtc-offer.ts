/**
 * What camgate does to a browser's WebRTC offer before werift reads it (no I/O):
 *
 * - Of the H.264 payload types, only the one camgate sends is kept. werift sends with the first remote
 *   codec whose MIME type it knows, and Chrome offers several H.264 variants, some with
 *   packetization-mode=0 (no FU-A: a camera's pictures do not fit one packet). Likewise the G.711 flavour
 *   the camera does not send is dropped from the audio offer. Preferred: mode 1 and the
 *   stream's own profile, else mode 1 and Constrained Baseline (every browser decodes higher profiles it
 *   was not asked for; MediaMTX and go2rtc send the camera's profile as it is).
 * - Remote host candidates with an mDNS name (`<uuid>.local`, Chrome's default) are dropped: resolving
 *   them sends multicast DNS, and the connection still forms from the browser's own checks
 *   (peer-reflexive candidates).
 */

export class OfferError extends Error {
  readonly code = "bad-offer";
  constructor(message: string) {
    super(message);
    this.name = "OfferError";
  }
}

const MEDIA_LINE =
  /^m=[a-z]+ (?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|\d{1,4})(?:\/\d+)? [A-Za-z0-9/]+(?: [A-Za-z0-9-]+)+$/;

/** The longest offer camgate reads: browsers send 5-10 KB. */
export const MAX_OFFER_BYTES = 64 * 1024;

interface H264Choice {
  payloadType: string;
  packetizationMode: number;
  profile: string;
}

export function prepareOffer(
  sdp: string,
  profileIdc: number | undefined,
  /** The camera's G.711 flavour (PCMU 0, PCMA 8): the other one is dropped from the audio offer. */
  audio?: "pcma" | "pcmu",
): { sdp: string; h264PayloadType: string } {
  if (sdp.length > MAX_OFFER_BYTES) throw new OfferError(`the offer is over ${MAX_OFFER_BYTES} bytes`);
  if (!sdp.startsWith("v=0")) throw new OfferError("the body is not an SDP offer (it must start with v=0)");
  const lines = sdp.split(/\r?\n/).filter((line) => line !== "");
  // Every media line as RFC 8866 §5.14 has it (a port of 0-65535, a protocol, formats): what werift is
  // handed is at least that well-formed (`m=video -1 ...` made it throw).
  const badMedia = lines.find((line) => line.startsWith("m=") && !MEDIA_LINE.test(line));
  if (badMedia !== undefined)
    throw new OfferError(`a media line camgate cannot read: ${badMedia.slice(0, 80)}`);
  const videoAt = lines.findIndex((line) => line.startsWith("m=video "));
  if (videoAt < 0) throw new OfferError("the offer has no video m-line");
  let end = lines.findIndex((line, i) => i > videoAt && line.startsWith("m="));
  if (end < 0) end = lines.length;
  const section = lines.slice(videoAt + 1, end);
  const h264 = new Set<string>();
  for (const line of section) {
    const match = /^a=rtpmap:(\d+) H264\/90000/i.exec(line);
    if (match?.[1]) h264.add(match[1]);
  }
  const choices: H264Choice[] = [...h264].map((payloadType) => {
    const fmtp = section.find((line) => line.startsWith(`a=fmtp:${payloadType} `)) ?? "";
    return {
      payloadType,
      packetizationMode: Number(/packetization-mode=(\d)/.exec(fmtp)?.[1] ?? 0),
      profile: (/profile-level-id=([0-9a-fA-F]{6})/.exec(fmtp)?.[1] ?? "").toLowerCase(),
    };
  });
  const wanted = profileIdc?.toString(16).padStart(2, "0");
  const rank = (choice: H264Choice) =>
    (choice.packetizationMode === 1 ? 0 : 10) +
    (wanted && choice.profile.startsWith(wanted) ? 0 : choice.profile.startsWith("42e0") ? 1 : 2);
  const best = [...choices].sort((a, b) => rank(a) - rank(b))[0];
  if (best?.packetizationMode !== 1)
    throw new OfferError(
      "the browser offers no H.264 with packetization-mode=1; it cannot receive the camera's video",
    );
  const others = [...h264].filter((pt) => pt !== best.payloadType);
  let out = withoutPayloadTypes(lines, "video", others);
  const audioPayloadType = audio === "pcma" ? "8" : audio === "pcmu" ? "0" : undefined;
  if (audioPayloadType) out = withoutPayloadTypes(out, "audio", [audioPayloadType === "8" ? "0" : "8"]);
  const kept = out.filter((line) => !/^a=candidate:\S+ \d+ \S+ \d+ \S+\.local /i.test(line));
  return { sdp: `${kept.join("\r\n")}\r\n`, h264PayloadType: best.payloadType };
}

/** The lines with `payloadTypes` removed from the `kind` m-line and from its rtpmap, fmtp and rtcp-fb lines. */
function withoutPayloadTypes(
  lines: readonly string[],
  kind: "video" | "audio",
  payloadTypes: readonly string[],
): string[] {
  const drop = new Set(payloadTypes);
  let inSection = false;
  const out: string[] = [];
  for (const line of lines) {
    if (line.startsWith("m=")) {
      inSection = line.startsWith(`m=${kind} `);
      if (inSection) {
        const parts = line.split(" ");
        out.push([...parts.slice(0, 3), ...parts.slice(3).filter((pt) => !drop.has(pt))].join(" "));
        continue;
      }
    }
    const attribute = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)[ ]/.exec(line);
    if (inSection && attribute?.[1] && drop.has(attribute[1])) continue;
    out.push(line);
  }
  return out;
}
