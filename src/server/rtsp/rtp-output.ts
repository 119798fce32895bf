/**
 * A stream's RTP, made once for every RTSP viewer of it: each access unit is packetised (FU-A/FU at 1400
 * bytes) and serialised into one buffer of interleaved frames, which every viewer writes as it is (one write
 * per viewer per access unit: a write per packet costs about 4x the CPU, rtsp-h264.md §6). camgate's own SSRC,
 * sequence numbers and timestamps run on across upstream reconnects (the hub's timeline), and the buffers
 * since the last keyframe are kept, so a new viewer starts with a decodable picture whose sequence numbers
 * lead straight into the live ones.
 *
 * Channels are fixed: video on 0 (RTCP 1), audio on 2 (RTCP 3); the SETUP answer tells the client so.
 */
import { randomInt } from "node:crypto";
import type { StreamState } from "../../camera/stream-status.ts";
import { packetize } from "../../media/packetizer.ts";
import { RTP_HEADER_BYTES, writeRtpHeader } from "../../media/rtp.ts";
import type { HubAudio, HubUnit, MediaConsumer, StreamHub, StreamTracks } from "../../relay/stream-hub.ts";

export const VIDEO_CHANNEL = 0;
export const AUDIO_CHANNEL = 2;
export const VIDEO_PAYLOAD_TYPE = 96;
export const AAC_PAYLOAD_TYPE = 97;

export interface RtpViewer {
  /** A serialised access unit (or audio packet); `keyframe`: a decoder can start here. */
  send(bytes: Buffer, track: "video" | "audio", keyframe: boolean): void;
  state?(state: StreamState): void;
}

export interface TrackStart {
  sequence: number;
  timestamp: number;
}

/** The most buffers of one GOP kept for late joiners (the hub's own cache is bounded the same way). */
const GOP_MAX_BUFFERS = 1500;

export class RtpOutput implements MediaConsumer {
  private readonly viewers = new Set<RtpViewer>();
  private readonly video = {
    ssrc: randomInt(1, 2 ** 31),
    sequence: randomInt(0, 65_536),
    base: randomInt(0, 2 ** 31),
  };
  private readonly audio = {
    ssrc: randomInt(1, 2 ** 31),
    sequence: randomInt(0, 65_536),
    base: randomInt(0, 2 ** 31),
  };
  private gop: Buffer[] = [];
  private gopStart: TrackStart | undefined;
  private lastVideo: TrackStart | undefined;
  private tracks: StreamTracks | undefined;
  private detach: (() => void) | undefined;
  /** Access units serialised (once each, whatever the number of viewers). */
  serialised = 0;

  constructor(private readonly hub: StreamHub) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  currentTracks(): StreamTracks | undefined {
    return this.tracks ?? this.hub.currentTracks();
  }

  /** Where a new viewer's video starts (RTP-Info): the cached keyframe, or the next packet. */
  videoStart(): TrackStart {
    return (
      this.gopStart ?? {
        sequence: this.video.sequence,
        timestamp: (this.lastVideo?.timestamp ?? this.video.base) >>> 0,
      }
    );
  }

  audioStart(): TrackStart {
    return { sequence: this.audio.sequence, timestamp: this.audio.base >>> 0 };
  }

  /** Starts the hub when needed (its GOP burst arrives at once and builds this output's own cache). */
  start(): void {
    this.detach ??= this.hub.attach(this);
  }

  /** Adds a viewer: the cached GOP first, then live units. */
  add(viewer: RtpViewer): void {
    this.start();
    this.viewers.add(viewer);
    for (const [i, buffer] of this.gop.entries()) viewer.send(buffer, "video", i === 0);
  }

  remove(viewer: RtpViewer): void {
    this.viewers.delete(viewer);
    if (this.viewers.size === 0) {
      this.detach?.();
      this.detach = undefined;
      this.gop = [];
      this.gopStart = undefined;
    }
  }

  onTracks(tracks: StreamTracks): void {
    this.tracks = tracks;
  }

  onState(state: StreamState): void {
    for (const viewer of this.viewers) viewer.state?.(state);
  }

  onVideo(unit: HubUnit): void {
    const codec = this.tracks?.codec ?? this.hub.currentTracks()?.codec ?? "h264";
    const payloads = packetize(codec, unit.nalus);
    if (payloads.length === 0) return;
    let size = 0;
    for (const p of payloads) size += 4 + RTP_HEADER_BYTES + (p.header?.length ?? 0) + p.data.length;
    const bytes = Buffer.allocUnsafe(size);
    const timestamp = (this.video.base + unit.pts) >>> 0;
    const first = this.video.sequence;
    let at = 0;
    for (const payload of payloads) {
      const length = RTP_HEADER_BYTES + (payload.header?.length ?? 0) + payload.data.length;
      bytes[at] = 0x24;
      bytes[at + 1] = VIDEO_CHANNEL;
      bytes.writeUInt16BE(length, at + 2);
      writeRtpHeader(bytes, at + 4, {
        marker: payload.marker,
        payloadType: VIDEO_PAYLOAD_TYPE,
        sequence: this.video.sequence,
        timestamp,
        ssrc: this.video.ssrc,
      });
      this.video.sequence = (this.video.sequence + 1) & 0xffff;
      at += 4 + RTP_HEADER_BYTES;
      if (payload.header) {
        bytes.set(payload.header, at);
        at += payload.header.length;
      }
      bytes.set(payload.data, at);
      at += payload.data.length;
    }
    this.serialised++;
    this.lastVideo = { sequence: this.video.sequence, timestamp };
    if (unit.keyframe) {
      this.gop = [bytes];
      this.gopStart = { sequence: first, timestamp };
    } else if (this.gop.length > 0 && this.gop.length < GOP_MAX_BUFFERS) {
      this.gop.push(bytes);
    } else if (this.gop.length >= GOP_MAX_BUFFERS) {
      this.gop = [];
      this.gopStart = undefined;
    }
    for (const viewer of this.viewers) viewer.send(bytes, "video", unit.keyframe);
  }

  onAudio(frame: HubAudio): void {
    const audio = this.tracks?.audio;
    if (!audio || this.viewers.size === 0) return;
    const aac = audio.codec === "aac";
    // AAC: one AU-header (13-bit size, 3-bit index) before the frame (RFC 3640 AAC-hbr).
    const header = aac
      ? Buffer.from([0x00, 0x10, (frame.data.length >> 5) & 0xff, (frame.data.length & 0x1f) << 3])
      : undefined;
    const length = RTP_HEADER_BYTES + (header?.length ?? 0) + frame.data.length;
    if (length > 0xffff) return;
    const bytes = Buffer.allocUnsafe(4 + length);
    bytes[0] = 0x24;
    bytes[1] = AUDIO_CHANNEL;
    bytes.writeUInt16BE(length, 2);
    writeRtpHeader(bytes, 4, {
      marker: true,
      payloadType: aac ? AAC_PAYLOAD_TYPE : audio.codec === "pcma" ? 8 : 0,
      sequence: this.audio.sequence,
      timestamp: (this.audio.base + frame.pts) >>> 0,
      ssrc: this.audio.ssrc,
    });
    this.audio.sequence = (this.audio.sequence + 1) & 0xffff;
    let at = 4 + RTP_HEADER_BYTES;
    if (header) {
      bytes.set(header, at);
      at += header.length;
    }
    bytes.set(frame.data, at);
    for (const viewer of this.viewers) viewer.send(bytes, "audio", false);
  }
}
