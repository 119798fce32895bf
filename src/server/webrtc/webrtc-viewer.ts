/**
 * One WebRTC viewer (werift 0.24.4, pure TypeScript; 0.25 needs Node 22): the browser's offer in, an answer
 * with every host candidate out (no trickle: one HTTP round trip, WHEP style), then the stream hub's access
 * units re-packetised at a 1200-byte MTU (camera packets are ~1400 bytes; go2rtc does the same) and G.711
 * audio passed through as it is (PCMA/PCMU are WebRTC codecs).
 *
 * Instant start: on connecting, the cached GOP (keyframe and what followed) goes out at once, stamped one
 * tick apart and ending on the live timeline, so the browser decodes up to the present picture and shows it
 * now instead of waiting for the camera's next keyframe. A picture loss indication is answered the same way
 * (the camera cannot be asked for a keyframe), at most once a second.
 */
import { randomInt, randomUUID } from "node:crypto";
import { networkInterfaces } from "node:os";
import type * as Werift from "werift";
import type { CandidatePair, RTCPeerConnection, RTCRtpTransceiver } from "werift";
import type { StreamDown, StreamState } from "../../camera/stream-status.ts";
import { packetize } from "../../media/packetizer.ts";
import { OfferError, prepareOffer } from "../../protocol/webrtc-offer.ts";
import type { HubAudio, HubUnit, MediaConsumer, StreamHub } from "../../relay/stream-hub.ts";
import { errorText } from "../../util/error-text.ts";

let werift: typeof Werift | undefined;

/**
 * Loads werift, once, when the first WebRTC viewer comes: it holds ~34 MB once loaded, which a camgate that
 * nobody watches over WebRTC should not pay (issue 30). Call before making a viewer.
 */
export async function loadWebRtc(): Promise<void> {
  werift ??= await import("werift");
}

function lib(): typeof Werift {
  if (!werift) throw new Error("loadWebRtc() must resolve before a WebRTC viewer is made");
  return werift;
}

/** RTP payload bytes per packet: with the 12-byte header and SRTP's tag a packet stays under 1232 bytes. */
const PAYLOAD_BYTES = 1188;
const ANSWER_GATHER_MS = 2000;
const PLI_MIN_INTERVAL_MS = 1000;
/** An answer nobody connects to within this is closed (a browser connects within a second or two). */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * No RTCP from the browser for this long: it is gone (a closed tab sends no goodbye the server is sure to
 * see; receivers report every second or so). ICE consent would take 30 s.
 */
export const PEER_SILENCE_MS = 8000;
/** A burst longer than this (a long GOP at a high bitrate) is not sent; the viewer waits for a keyframe. */
const MAX_BURST_BYTES = 8 * 1024 * 1024;

export interface WebRtcNetwork {
  iceServers: { urls: string | string[]; username?: string; credential?: string }[];
  /** Gather host candidates on this IPv4 address only (the listen address), or on every interface. */
  interfaceAddress: string | undefined;
  /** Addresses announced besides the gathered ones (a NAT or container host address). */
  announceAddresses: string[];
  portRange: [number, number] | undefined;
}

/** Whether an address is one of this machine's own (loopback or an interface's). */
function isThisMachine(address: string): boolean {
  if (address.startsWith("127.") || address === "::1") return true;
  try {
    return Object.values(networkInterfaces()).some((list) =>
      list?.some((entry) => entry.address === address),
    );
  } catch {
    // The interfaces cannot be listed (no AF_NETLINK): logged once at start (wiring/webrtc.ts).
    return false;
  }
}

/** An answer for a loopback listener carries the loopback candidate only (werift also lists the LAN's). */
function loopbackCandidatesOnly(sdp: string): string {
  return sdp
    .split("\r\n")
    .filter((line) => !line.startsWith("a=candidate:") || / 127\.\d+\.\d+\.\d+ /.test(line))
    .join("\r\n");
}

/** Payloads made once per access unit and shared by every WebRTC viewer (they differ in headers only). */
const payloadCache = new WeakMap<HubUnit, { data: Buffer; marker: boolean }[]>();

function payloadsOf(unit: HubUnit, codec: "h264" | "h265"): { data: Buffer; marker: boolean }[] {
  let payloads = payloadCache.get(unit);
  if (!payloads) {
    payloads = packetize(codec, unit.nalus, PAYLOAD_BYTES).map((payload) => ({
      data: payload.header
        ? Buffer.concat([payload.header, payload.data])
        : Buffer.from(payload.data.buffer, payload.data.byteOffset, payload.data.length),
      marker: payload.marker,
    }));
    payloadCache.set(unit, payloads);
  }
  return payloads;
}

/** How a viewer ended: DELETE or shutdown, a failed or silent connection. */
export type ViewerEnd = "closed" | "failed" | "stream-gone";

export class WebRtcViewer implements MediaConsumer {
  readonly id = randomUUID();
  private readonly pc: RTCPeerConnection;
  private video: RTCRtpTransceiver | undefined;
  private audio: RTCRtpTransceiver | undefined;
  private audioCodec: "pcma" | "pcmu" | undefined;
  private detach: (() => void) | undefined;
  private sequence = randomInt(0, 65536);
  private audioSequence = randomInt(0, 65536);
  /** Our RTP timestamp = base + hub pts (uint32), so the live timeline carries on across bursts. */
  private readonly base = randomInt(0, 2 ** 32);
  private readonly audioBase = randomInt(0, 2 ** 32);
  private lastTimestamp: number | undefined;
  private waitingForKeyframe = true;
  private replay: HubUnit[] | undefined;
  private lastPliAt = 0;
  private closed = false;
  private readonly loopback: boolean;
  /** werift's RTP classes, looked up once here rather than per packet. */
  private readonly rtp: Pick<typeof Werift, "RtpHeader" | "RtpPacket">;
  private lastHeardAt = 0;
  private liveness: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: StreamHub,
    network: WebRtcNetwork,
    private readonly onEnd: (viewer: WebRtcViewer, why: ViewerEnd) => void,
  ) {
    const loopback = network.interfaceAddress?.startsWith("127.") ?? false;
    this.loopback = loopback;
    const { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } = lib();
    this.rtp = { RtpHeader, RtpPacket };
    this.pc = new RTCPeerConnection({
      // werift's default is Google's public STUN server: never contacted unless configured.
      iceServers: network.iceServers,
      iceUseIpv4: true,
      iceUseIpv6: false,
      ...(network.interfaceAddress ? { iceInterfaceAddresses: { udp4: network.interfaceAddress } } : {}),
      // werift leaves loopback out of its host candidates; listening on loopback, it is the one to offer.
      ...(network.announceAddresses.length > 0 || loopback
        ? {
            iceAdditionalHostAddresses: [
              ...(loopback ? [network.interfaceAddress as string] : []),
              ...network.announceAddresses,
            ],
          }
        : {}),
      ...(network.portRange ? { icePortRange: network.portRange } : {}),
      // On loopback, checks go only to this machine (a browser here offers its LAN address, not loopback:
      // Chromium leaves loopback out of its candidates): nothing is sent to another host.
      ...(loopback
        ? { iceFilterCandidatePair: (pair: CandidatePair) => isThisMachine(pair.remoteCandidate.host) }
        : {}),
      codecs: {
        video: [
          new RTCRtpCodecParameters({
            mimeType: "video/H264",
            clockRate: 90_000,
            rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
            parameters: "packetization-mode=1;level-asymmetry-allowed=1",
          }),
        ],
        audio: [
          new RTCRtpCodecParameters({ mimeType: "audio/PCMA", clockRate: 8000, channels: 1, payloadType: 8 }),
          new RTCRtpCodecParameters({ mimeType: "audio/PCMU", clockRate: 8000, channels: 1, payloadType: 0 }),
        ],
      },
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") this.start();
      else if (state === "failed" || state === "closed") this.close(state === "failed" ? "failed" : "closed");
    });
  }

  get stream(): StreamHub {
    return this.hub;
  }

  get connectionState(): string {
    return this.pc.connectionState;
  }

  /** The answer to the browser's offer, with all host candidates in it. Throws `OfferError` for a bad one. */
  async answer(offer: string): Promise<string> {
    const tracks = this.hub.currentTracks();
    const cameraAudio = tracks?.audio?.codec;
    const prepared = prepareOffer(
      offer,
      tracks?.video?.profile,
      cameraAudio === "pcma" || cameraAudio === "pcmu" ? cameraAudio : undefined,
    );
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp: prepared.sdp });
    } catch (error) {
      // What werift cannot read is the offer's fault, not camgate's: a 400, never a 500 with a stack.
      throw new OfferError(`the offer could not be read (${errorText(error)})`);
    }
    for (const transceiver of this.pc.getTransceivers()) {
      if (transceiver.kind === "video" && !this.video) this.video = transceiver;
      else if (transceiver.kind === "audio" && !this.audio) this.audio = transceiver;
      else continue;
      // werift makes a remote offer's transceivers receive-only; camgate only sends.
      transceiver.setDirection("sendonly");
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    if (this.pc.iceGatheringState !== "complete") {
      // What is gathered by then goes in the answer (host candidates come in milliseconds).
      await this.pc.iceGatheringStateChange
        .watch((state) => state === "complete", ANSWER_GATHER_MS)
        .catch(() => undefined);
    }
    const audioName = this.audio?.codecs[0]?.name.toLowerCase();
    this.audioCodec = audioName === "pcma" || audioName === "pcmu" ? audioName : undefined;
    this.video?.sender.onPictureLossIndication.subscribe(() => this.pictureLost());
    for (const transceiver of [this.video, this.audio])
      transceiver?.sender.onRtcp.subscribe(() => {
        this.lastHeardAt = Date.now();
      });
    // An answer nobody connects to (the page went away) is not kept.
    setTimeout(() => {
      if (this.pc.connectionState !== "connected") this.close("failed");
    }, CONNECT_TIMEOUT_MS).unref();
    const local = this.pc.localDescription?.sdp;
    if (!local) throw new Error("werift made no local description");
    return this.loopback ? loopbackCandidatesOnly(local) : local;
  }

  close(why: ViewerEnd = "closed"): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.liveness);
    this.detach?.();
    this.detach = undefined;
    void this.pc.close().catch(() => undefined);
    this.onEnd(this, why);
  }

  onVideo(unit: HubUnit): void {
    if (this.replay) {
      this.replay.push(unit);
      return;
    }
    if (this.waitingForKeyframe) {
      if (!unit.keyframe) return;
      this.waitingForKeyframe = false;
    }
    this.sendUnit(unit, (this.base + unit.pts) >>> 0);
  }

  onAudio(frame: HubAudio): void {
    const transceiver = this.audio;
    const codec = this.hub.currentTracks()?.audio?.codec;
    if (!transceiver || !this.audioCodec || codec !== this.audioCodec || this.waitingForKeyframe) return;
    const { RtpHeader, RtpPacket } = this.rtp;
    const header = new RtpHeader({
      payloadType: this.audioCodec === "pcma" ? 8 : 0,
      sequenceNumber: this.audioSequence,
      timestamp: (this.audioBase + frame.pts) >>> 0,
      marker: false,
    });
    this.audioSequence = (this.audioSequence + 1) & 0xffff;
    void transceiver.sender.sendRtp(new RtpPacket(header, Buffer.from(frame.data))).catch(() => undefined);
  }

  onState(state: StreamState, _down: StreamDown | undefined): void {
    // After the camera is back, its first pictures may reference what this viewer never got.
    if (state === "connecting") this.waitingForKeyframe = true;
  }

  private start(): void {
    if (this.detach || this.closed) return;
    this.lastHeardAt = Date.now();
    this.liveness = setInterval(() => {
      if (Date.now() - this.lastHeardAt > PEER_SILENCE_MS) this.close("failed");
    }, 1000);
    this.liveness.unref();
    // The hub hands over its cached GOP inside attach(): collect it, then send it as one burst.
    this.replay = [];
    this.detach = this.hub.attach(this);
    const gop = this.replay;
    this.replay = undefined;
    this.burst(gop);
  }

  /** Sends `units` (a keyframe first) stamped one tick apart, the last one on the live timeline. */
  private burst(units: readonly HubUnit[]): void {
    const bytes = units.reduce((sum, unit) => sum + unit.bytes, 0);
    const last = units[units.length - 1];
    if (!last || !units[0]?.keyframe || bytes > MAX_BURST_BYTES) {
      this.waitingForKeyframe = true;
      return;
    }
    this.waitingForKeyframe = false;
    const liveEnd = (this.base + last.pts) >>> 0;
    // Never at or before what this viewer was already sent: timestamps only go forward.
    const end =
      this.lastTimestamp !== undefined && ((liveEnd - this.lastTimestamp) | 0) <= units.length
        ? (this.lastTimestamp + units.length + 1) >>> 0
        : liveEnd;
    units.forEach((unit, i) => {
      this.sendUnit(unit, (end - (units.length - 1 - i)) >>> 0);
    });
  }

  private pictureLost(): void {
    const now = Date.now();
    if (now - this.lastPliAt < PLI_MIN_INTERVAL_MS) return;
    this.lastPliAt = now;
    this.burst(this.hub.cachedGop());
  }

  private sendUnit(unit: HubUnit, timestamp: number): void {
    const transceiver = this.video;
    const codec = this.hub.currentTracks()?.codec;
    if (!transceiver || codec !== "h264") return;
    if (this.lastTimestamp !== undefined && ((timestamp - this.lastTimestamp) | 0) <= 0)
      timestamp = (this.lastTimestamp + 1) >>> 0;
    this.lastTimestamp = timestamp;
    for (const payload of payloadsOf(unit, codec)) {
      const { RtpHeader, RtpPacket } = this.rtp;
      const header = new RtpHeader({
        payloadType: 96,
        sequenceNumber: this.sequence,
        timestamp,
        marker: payload.marker,
      });
      this.sequence = (this.sequence + 1) & 0xffff;
      void transceiver.sender.sendRtp(new RtpPacket(header, payload.data)).catch(() => undefined);
    }
  }
}
