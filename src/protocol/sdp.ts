/**
 * SDP (RFC 8866) as RTSP uses it: the media, their payload types, clock rates, format parameters and
 * control URLs. Parsed by hand and leniently, because cameras write it loosely (go2rtc's UnmarshalSDP repair
 * list: duplicate `s=`, broken `c=`, unknown attributes such as Dahua's `a=packetization-supported:DH`), and
 * because format parameters must stay text (`profile-level-id=640028` is hex; sdp-transform turns it into
 * a number). Also written, for camgate's own RTSP server.
 */

export interface MediaDescription {
  /** `video`, `audio`, `application`, ... */
  kind: string;
  payloadType: number;
  /** From `a=rtpmap`: `H264`, `H265`, `PCMA`, `PCMU`, `MPEG4-GENERIC`, ... (upper case). */
  encoding: string;
  clockRate: number;
  channels: number | undefined;
  /** `a=fmtp` parameters, names in lower case, values as written. */
  fmtp: Map<string, string>;
  /** `a=control`, as written (absolute, or relative to the session's base). */
  control: string | undefined;
  /**
   * `a=sendrecv|sendonly|recvonly|inactive` (default sendrecv). In a camera's SDP, the ONVIF backchannel is
   * the audio marked `sendonly`: the client only sends on it (ONVIF Streaming Specification §5.3).
   */
  direction: "sendrecv" | "sendonly" | "recvonly" | "inactive";
}

export interface SessionDescription {
  control: string | undefined;
  media: MediaDescription[];
}

export class SdpError extends Error {
  readonly code = "bad-sdp";
  constructor(message: string) {
    super(message);
    this.name = "SdpError";
  }
}

/** Payload types with a static meaning (RFC 3551), used when a camera omits `a=rtpmap`. */
const STATIC: Record<number, { encoding: string; clockRate: number; channels?: number }> = {
  0: { encoding: "PCMU", clockRate: 8000, channels: 1 },
  8: { encoding: "PCMA", clockRate: 8000, channels: 1 },
  26: { encoding: "JPEG", clockRate: 90000 },
};

const MAX_SDP_BYTES = 64 * 1024;

export function parseSdp(text: string): SessionDescription {
  if (text.length > MAX_SDP_BYTES) throw new SdpError(`SDP over ${MAX_SDP_BYTES} bytes`);
  const session: SessionDescription = { control: undefined, media: [] };
  let current: MediaDescription | undefined;
  const rtpmaps = new Map<MediaDescription, Map<number, string>>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length < 2 || line[1] !== "=") continue;
    const type = line[0];
    const value = line.slice(2);
    if (type === "m") {
      const [kind = "", , , format = ""] = value.split(/\s+/);
      const payloadType = Number(format);
      if (!Number.isInteger(payloadType) || payloadType < 0 || payloadType > 127) {
        current = undefined;
        continue;
      }
      const known = STATIC[payloadType];
      current = {
        kind,
        payloadType,
        encoding: known?.encoding ?? "",
        clockRate: known?.clockRate ?? 90000,
        channels: known?.channels,
        fmtp: new Map(),
        control: undefined,
        direction: "sendrecv",
      };
      session.media.push(current);
      rtpmaps.set(current, new Map());
      continue;
    }
    if (type !== "a") continue;
    const colon = value.indexOf(":");
    const name = (colon < 0 ? value : value.slice(0, colon)).toLowerCase();
    const attribute = colon < 0 ? "" : value.slice(colon + 1).trim();
    if (name === "control") {
      if (current) current.control = attribute;
      else session.control = attribute;
      continue;
    }
    if (!current) continue;
    if (name === "sendrecv" || name === "sendonly" || name === "recvonly" || name === "inactive") {
      current.direction = name;
      continue;
    }
    if (name === "rtpmap") {
      const match = /^(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(attribute);
      if (match && Number(match[1]) === current.payloadType) {
        current.encoding = (match[2] as string).toUpperCase();
        current.clockRate = Number(match[3]);
        current.channels = match[4] === undefined ? current.channels : Number(match[4]);
      }
    } else if (name === "fmtp") {
      const space = attribute.indexOf(" ");
      if (space < 0 || Number(attribute.slice(0, space)) !== current.payloadType) continue;
      for (const parameter of attribute.slice(space + 1).split(";")) {
        const eq = parameter.indexOf("=");
        if (eq < 0) continue;
        current.fmtp.set(parameter.slice(0, eq).trim().toLowerCase(), parameter.slice(eq + 1).trim());
      }
    }
  }
  if (session.media.length === 0) throw new SdpError("the SDP describes no media");
  return session;
}

/** A media's control URL, resolved against the session's base (`Content-Base`, or the request URL). */
export function resolveControl(base: string, control: string | undefined): string {
  if (control === undefined || control === "" || control === "*") return base;
  if (/^rtsps?:\/\//i.test(control)) return control;
  return `${base.endsWith("/") ? base : `${base}/`}${control}`;
}

/** The base64 parameter sets of an H.264 `sprop-parameter-sets`, or H.265 `sprop-vps/sps/pps`. */
export function spropParameterSets(media: MediaDescription): Uint8Array[] {
  const names =
    media.encoding === "H265" ? ["sprop-vps", "sprop-sps", "sprop-pps"] : ["sprop-parameter-sets"];
  return names
    .flatMap((name) => (media.fmtp.get(name) ?? "").split(","))
    .map((text) => text.trim())
    .filter((text) => /^[A-Za-z0-9+/]+=*$/.test(text))
    .map((text) => Uint8Array.from(Buffer.from(text, "base64")))
    .filter((nal) => nal.length > 0);
}

export interface OutgoingMedia {
  kind: "video" | "audio";
  payloadType: number;
  encoding: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  control: string;
}

/** An SDP for camgate's RTSP server: one session, its media, their controls. */
export function buildSdp(options: { origin: string; name: string; media: readonly OutgoingMedia[] }): string {
  const lines = [
    "v=0",
    `o=- ${Date.now()} 1 IN IP4 ${options.origin}`,
    `s=${options.name}`,
    "c=IN IP4 0.0.0.0",
    "t=0 0",
    "a=control:*",
    "a=range:npt=now-",
  ];
  for (const media of options.media) {
    lines.push(`m=${media.kind} 0 RTP/AVP ${media.payloadType}`);
    lines.push(
      `a=rtpmap:${media.payloadType} ${media.encoding}/${media.clockRate}${media.channels ? `/${media.channels}` : ""}`,
    );
    if (media.fmtp) lines.push(`a=fmtp:${media.payloadType} ${media.fmtp}`);
    lines.push(`a=control:${media.control}`);
  }
  return `${lines.join("\r\n")}\r\n`;
}
