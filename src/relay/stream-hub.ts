/**
 * StreamHub: one upstream RTSP session per (camera, stream) serving every consumer of its H.264/H.265 access
 * units (RTSP viewers, and later MSE, WebRTC, recording), as FrameHub does for MJPEG.
 *
 * - Lazy: the upstream opens with the first consumer and closes a linger after the last (or stays, with
 *   `preload`).
 * - A GOP cache: the last keyframe and everything after it (bounded by bytes and pictures), so a new
 *   consumer starts at once with a decodable picture instead of waiting for the camera's next keyframe
 *   (go2rtc waits: 1-2 s usually, up to 40 s with long "smart codec" GOPs, frigate#11041).
 * - Our own monotonic timeline (`pts`, 90 kHz): cameras jump timestamps (a Dahua-OEM DVR stamps frames hours
 *   off, mediamtx PR #6255): a picture more than 5 s off is re-stamped, a jump that holds for 3 pictures
 *   starts a new timeline, and an upstream reconnect continues the old one.
 * - Consumers keep their own pace: the hub hands every unit to every consumer once; each consumer bounds its
 *   own queue (an RTSP viewer that falls behind skips to the next keyframe).
 */
import { CameraError } from "../camera/errors.ts";
import type { CameraEntry } from "../camera/registry.ts";
import {
  type AudioTrack,
  type RtspDescription,
  type RtspLocation,
  RtspSource,
} from "../camera/rtsp-source.ts";
import { IDLE_BACKOFF_MAX_MS, WATCHED_BACKOFF_MAX_MS } from "../camera/stream-loop.ts";
import { StreamNarrator } from "../camera/stream-narrator.ts";
import type { StreamDown, StreamState } from "../camera/stream-status.ts";
import type { AccessUnit, AudioFrame, VideoCodec } from "../media/access-unit.ts";
import { H264_NAL, h264NalType, parseH264Sps, type VideoParameters } from "../media/h264.ts";
import { H265_NAL, h265NalType, parseH265Sps } from "../media/h265.ts";
import { SharedUpstream } from "./shared-upstream.ts";

export interface HubUnit extends AccessUnit {
  /** camgate's timeline, 90 kHz, monotonic across camera jumps and reconnects. */
  pts: number;
  receivedAt: number;
  /** Counts units through the hub (not reset by reconnects). */
  sequence: number;
}

export interface HubAudio extends AudioFrame {
  /** camgate's timeline in the audio clock, continuous across reconnects. */
  pts: number;
}

export interface StreamTracks {
  codec: VideoCodec;
  /** SPS/PPS (and VPS): the latest seen, for SDPs and init segments. */
  parameterSets: Uint8Array[];
  video: VideoParameters | undefined;
  audio: AudioTrack | undefined;
}

export interface MediaConsumer {
  /** The tracks changed (first description, new parameter sets). */
  onTracks?(tracks: StreamTracks): void;
  onVideo(unit: HubUnit): void;
  onAudio?(frame: HubAudio): void;
  onState?(state: StreamState, down: StreamDown | undefined): void;
}

export interface StreamHubOptions {
  entry: CameraEntry;
  /** `main`, `sub`, or the camera's own path for other channels. */
  name: string;
  path: string;
  lingerMs: number;
  preload: boolean;
  /** No video for this long: reconnect (default 5 s). */
  silenceMs?: number;
}

export interface StreamHubStats {
  camera: string;
  stream: string;
  state: StreamState;
  consumers: number;
  codec: string | undefined;
  width: number | undefined;
  height: number | undefined;
  /** Measured over the last second of units. */
  fps: number | undefined;
  /** Pictures between the last two keyframes. */
  gopFrames: number | undefined;
  /** Measured, bits per second. */
  bitrate: number | undefined;
  unitsIn: number;
  /** NAL unit bytes received from the camera (video). */
  bytesIn: number;
  upstreamConnects: number;
  timestampJumps: number;
  droppedUpstream: number;
  /** Interleaved frames on the video or audio channel that were not RTP, or not the track's SSRC. */
  badPackets: number;
  gopCachedUnits: number;
  lastError: string | undefined;
}

/** The GOP cache's bounds: a picture stream longer or larger than this waits for its next keyframe. */
const GOP_MAX_BYTES = 16 * 1024 * 1024;
const GOP_MAX_UNITS = 1500;
const MAX_STEP = 5 * 90_000;

const int32 = (n: number) => n | 0;

/**
 * Where to connect, asked before each connect: through the instance that owns the camera when this one
 * does not (its RTSP server), else an ONVIF camera's stream where its GetStreamUri says (learnt, cached),
 * else the configured port and path.
 */
function locator(entry: CameraEntry, name: string, path: string): () => Promise<RtspLocation> {
  return async () => {
    const route = entry.session.route;
    if (route) {
      const peer = route.rtsp(name, path);
      if (!peer)
        throw new CameraError("unreachable", entry.id, "no camgate instance owns the camera right now");
      const { port, path: peerPath, ...rest } = peer;
      return { port, path: peerPath, peer: rest };
    }
    if (entry.onvif && (name === "main" || name === "sub")) return entry.onvif.streamLocation(name);
    return { port: entry.rtsp.port, path };
  };
}

export class StreamHub {
  private bytesIn = 0;
  private readonly source: RtspSource;
  private readonly upstream: SharedUpstream<MediaConsumer>;
  private tracks: StreamTracks | undefined;
  private gop: HubUnit[] = [];
  private gopBytes = 0;
  private sequence = 0;
  /** Timeline: our pts, and the camera timestamp it corresponds to. */
  private pts = 0;
  private lastTimestamp: number | undefined;
  private candidate: { timestamp: number; count: number } | undefined;
  private step = 3600;
  private audioPts = 0;
  private lastAudio: number | undefined;
  private lastKeyframeSequence: number | undefined;
  private gopFrames: number | undefined;
  private readonly window: { at: number; bytes: number }[] = [];
  timestampJumps = 0;

  private readonly say: StreamNarrator;

  constructor(private readonly options: StreamHubOptions) {
    const entry = options.entry;
    this.say = new StreamNarrator(entry.session, "RTSP stream", { stream: options.name });
    this.source = new RtspSource({
      session: entry.session,
      budget: entry.rtspBudget,
      host: entry.rtsp.host,
      port: entry.rtsp.port,
      path: options.path,
      locate: locator(entry, options.name, options.path),
      ...(options.silenceMs !== undefined ? { silenceMs: options.silenceMs } : {}),
      onDescription: (description) => this.described(description),
      onVideo: (unit) => this.video(unit),
      onAudio: (frame) => this.audio(frame),
      onState: (state, down) => {
        if (state === "connecting") this.reconnecting();
        if (state === "live") this.say.live();
        for (const consumer of this.consumers) consumer.onState?.(state, down);
      },
      onRetry: (down, retryInMs) => this.say.down(down, retryInMs),
      // A few seconds while anyone uses the stream, a minute while nobody does.
      backoffMaxMs: () => (this.upstream.size > 0 ? WATCHED_BACKOFF_MAX_MS : IDLE_BACKOFF_MAX_MS),
    });
    this.upstream = new SharedUpstream<MediaConsumer>({
      lingerMs: options.lingerMs,
      preload: options.preload,
      start: () => this.source.start(),
      stop: () => {
        this.source.stop();
        this.gop = [];
        this.gopBytes = 0;
      },
    });
    this.upstream.openPreloaded();
  }

  private get consumers(): ReadonlySet<MediaConsumer> {
    return this.upstream.readers;
  }

  get camera(): string {
    return this.options.entry.id;
  }

  get name(): string {
    return this.options.name;
  }

  /** The camera's path of this stream (`/cam/realmonitor?channel=1&subtype=0`). */
  get path(): string {
    return this.options.path;
  }

  get state(): StreamState {
    return this.source.current;
  }

  get isRunning(): boolean {
    return this.source.current !== "idle";
  }

  /** Nobody uses it and it holds no session: it can be let go. */
  get isUnused(): boolean {
    return this.consumers.size === 0 && !this.isRunning && !this.options.preload;
  }

  /** The current tracks, once the upstream described them. */
  currentTracks(): StreamTracks | undefined {
    return this.tracks;
  }

  /** The cached GOP: a keyframe and what followed it (empty until the first keyframe). */
  cachedGop(): readonly HubUnit[] {
    return this.gop;
  }

  /**
   * Adds a consumer: it gets the tracks and the cached GOP at once (so it can start decoding now), then
   * every unit as it arrives. The returned function removes it.
   */
  attach(consumer: MediaConsumer): () => void {
    if (!this.upstream.add(consumer)) return () => undefined;
    if (this.tracks) consumer.onTracks?.(this.tracks);
    for (const unit of this.gop) consumer.onVideo(unit);
    return () => this.upstream.remove(consumer);
  }

  /** The camera is now reached another way (the cluster moved it): the upstream reconnects at once. */
  reconnect(): void {
    this.source.reconnectNow();
  }

  /** The camera is back: a waiting upstream reconnects now rather than after its backoff. */
  retryNow(): void {
    this.source.retryNow();
  }

  stats(): StreamHubStats {
    const now = Date.now();
    const recent = this.window.filter((w) => now - w.at <= 1000);
    const media = this.source.mediaStats;
    return {
      camera: this.camera,
      stream: this.name,
      state: this.source.current,
      consumers: this.consumers.size,
      codec: this.tracks?.video?.codec,
      width: this.tracks?.video?.width,
      height: this.tracks?.video?.height,
      fps: recent.length > 1 ? recent.length : this.tracks?.video?.fps,
      gopFrames: this.gopFrames,
      bitrate: recent.length > 0 ? recent.reduce((sum, w) => sum + w.bytes, 0) * 8 : undefined,
      unitsIn: this.sequence,
      bytesIn: this.bytesIn,
      upstreamConnects: this.source.stats.connects,
      timestampJumps: this.timestampJumps,
      droppedUpstream: media?.dropped ?? 0,
      badPackets: this.source.stats.badPackets,
      gopCachedUnits: this.gop.length,
      lastError: this.source.lastError?.message,
    };
  }

  close(): void {
    this.upstream.close();
  }

  private described(description: RtspDescription): void {
    const video = description.video;
    if (!video) return;
    this.updateTracks(video.codec, video.parameterSets, description.audio);
  }

  private updateTracks(codec: VideoCodec, sets: Uint8Array[], audio: AudioTrack | undefined): void {
    const spsType = codec === "h264" ? H264_NAL.sps : H265_NAL.sps;
    const typeOf = codec === "h264" ? h264NalType : h265NalType;
    const sps = sets.find((nal) => typeOf(nal) === spsType);
    let parameters: VideoParameters | undefined;
    if (sps) {
      try {
        parameters = codec === "h264" ? parseH264Sps(sps) : parseH265Sps(sps);
      } catch (error) {
        this.options.entry.session.warn("the camera's SPS cannot be read", {
          stream: this.name,
          err: error instanceof Error ? error.message : String(error),
        });
      }
    }
    const previous = this.tracks;
    const same =
      previous !== undefined &&
      previous.codec === codec &&
      previous.parameterSets.length === sets.length &&
      previous.parameterSets.every((nal, i) => Buffer.from(nal).equals(Buffer.from(sets[i] as Uint8Array))) &&
      previous.audio?.codec === audio?.codec;
    if (same) return;
    this.tracks = { codec, parameterSets: sets.map((nal) => Uint8Array.from(nal)), video: parameters, audio };
    if (parameters?.fps) this.step = Math.round(90_000 / parameters.fps);
    for (const consumer of this.consumers) consumer.onTracks?.(this.tracks);
  }

  /** A new upstream connection: its timestamps start anywhere; the timeline goes on from where it was. */
  private reconnecting(): void {
    this.lastTimestamp = undefined;
    this.lastAudio = undefined;
    this.candidate = undefined;
  }

  private video(unit: AccessUnit): void {
    const now = Date.now();
    this.stamp(unit.timestamp);
    const hubUnit: HubUnit = { ...unit, pts: this.pts, receivedAt: now, sequence: ++this.sequence };
    if (unit.keyframe) {
      if (this.lastKeyframeSequence !== undefined)
        this.gopFrames = hubUnit.sequence - this.lastKeyframeSequence;
      this.lastKeyframeSequence = hubUnit.sequence;
      this.refreshParameterSets(unit);
      this.gop = [];
      this.gopBytes = 0;
    }
    // Without a keyframe in the cache, nothing in it could be decoded: it stays empty until the next one.
    if (this.gop.length > 0 || unit.keyframe) {
      if (this.gop.length >= GOP_MAX_UNITS || this.gopBytes + unit.bytes > GOP_MAX_BYTES) {
        this.gop = [];
        this.gopBytes = 0;
      } else {
        this.gop.push(hubUnit);
        this.gopBytes += unit.bytes;
      }
    }
    this.bytesIn += unit.bytes;
    this.window.push({ at: now, bytes: unit.bytes });
    while ((this.window[0]?.at ?? now) < now - 1000) this.window.shift();
    for (const consumer of this.consumers) consumer.onVideo(hubUnit);
  }

  /** Parameter sets in band (a camera that changed its resolution): the tracks follow (MediaMTX does). */
  private refreshParameterSets(unit: AccessUnit): void {
    const codec = this.tracks?.codec;
    if (!codec) return;
    const typeOf = codec === "h264" ? h264NalType : h265NalType;
    const wanted =
      codec === "h264" ? [H264_NAL.sps, H264_NAL.pps] : [H265_NAL.vps, H265_NAL.sps, H265_NAL.pps];
    const inBand = wanted.map((type) => unit.nalus.find((nal) => typeOf(nal) === type));
    if (inBand.some((nal) => nal === undefined)) return;
    this.updateTracks(codec, inBand as Uint8Array[], this.tracks?.audio);
  }

  /** The timeline rule of mediamtx PR #6255. */
  private stamp(timestamp: number): void {
    if (this.lastTimestamp === undefined) {
      this.pts += this.sequence === 0 ? 0 : this.step;
      this.lastTimestamp = timestamp;
      return;
    }
    const delta = int32(timestamp - this.lastTimestamp);
    if (delta > 0 && delta <= MAX_STEP) {
      this.pts += delta;
      this.lastTimestamp = timestamp;
      this.candidate = undefined;
      return;
    }
    // Off by more than 5 s (or backwards): re-stamped one step on, unless the jump holds.
    this.timestampJumps++;
    this.pts += this.step;
    const candidate = this.candidate;
    const continues =
      candidate !== undefined &&
      int32(timestamp - candidate.timestamp) > 0 &&
      int32(timestamp - candidate.timestamp) <= MAX_STEP;
    this.candidate = { timestamp, count: continues ? (candidate?.count ?? 0) + 1 : 1 };
    if (this.candidate.count >= 3) {
      this.lastTimestamp = timestamp;
      this.candidate = undefined;
    } else {
      this.lastTimestamp = (this.lastTimestamp + this.step) >>> 0;
    }
  }

  private audio(frame: AudioFrame): void {
    if (this.lastAudio === undefined) this.lastAudio = frame.timestamp;
    const delta = int32(frame.timestamp - this.lastAudio);
    this.audioPts += delta > 0 && delta < 5 * 48_000 ? delta : 0;
    this.lastAudio = frame.timestamp;
    const out: HubAudio = { ...frame, pts: this.audioPts };
    for (const consumer of this.consumers) consumer.onAudio?.(out);
  }
}
