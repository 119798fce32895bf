/**
 * One fMP4 feed per stream hub: every access unit becomes one `moof`+`mdat` buffer, made once and handed to
 * every MSE viewer of the stream (go2rtc builds one muxer per viewer; here 200 viewers cost one muxing).
 * The feed keeps the fragments of the current GOP, so a new viewer gets init, the GOP from its keyframe, then
 * live fragments: a decodable picture at once, whatever the camera's GOP length.
 *
 * The decode times are the hub's own monotonic timeline, so a camera reconnect or timestamp jump continues
 * the same SourceBuffer timeline without a gap the browser would stall on.
 */
import type { StreamDown, StreamState } from "../camera/stream-status.ts";
import {
  AUDIO_TRACK_ID,
  DEFAULT_VIDEO_DURATION,
  type Fmp4AudioTrack,
  Fmp4Error,
  fragment,
  initSegment,
  mimeType,
  sampleNalus,
  VIDEO_TRACK_ID,
  videoSampleDuration,
} from "../media/fmp4.ts";
import type { HubAudio, HubUnit, MediaConsumer, StreamHub, StreamTracks } from "./stream-hub.ts";

export interface Fmp4Init {
  /** `video/mp4; codecs="avc1.4d401f"` or with `,mp4a.40.2` when the init carries AAC. */
  mime: string;
  /** The same, without audio (for a browser that cannot play the audio codec). */
  videoOnlyMime: string;
  segment: Uint8Array;
  videoOnlySegment: Uint8Array;
  codec: string;
  width: number;
  height: number;
  /** The camera's audio codec, when it has audio MSE cannot take (G.711): said to the viewer, not played. */
  unplayableAudio: string | undefined;
  /** Changes with every new init: a viewer that saw an older one must start over from a keyframe. */
  generation: number;
}

export interface Fmp4Fragment {
  data: Uint8Array;
  keyframe: boolean;
  audio: boolean;
  /** Which init segment this fragment belongs to. */
  generation: number;
  /** The hub's capture time of the unit (for latency figures). */
  receivedAt: number;
  /** A video fragment's decode time and duration on the hub's 90 kHz timeline (HLS cuts parts by them). */
  pts?: number;
  duration?: number;
}

export interface Fmp4Viewer {
  onInit(init: Fmp4Init): void;
  onFragment(fragment: Fmp4Fragment): void;
  onState?(state: StreamState, down: StreamDown | undefined): void;
}

export class Fmp4Feed implements MediaConsumer {
  private readonly viewers = new Set<Fmp4Viewer>();
  private init: Fmp4Init | undefined;
  private gop: Fmp4Fragment[] = [];
  private sequence = 0;
  private generation = 0;
  private lastVideo: HubUnit | undefined;
  private audioTrack: Fmp4AudioTrack | undefined;
  private detach: (() => void) | undefined;

  constructor(
    private readonly hub: StreamHub,
    private readonly onEmpty: (feed: Fmp4Feed) => void,
  ) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  get current(): Fmp4Init | undefined {
    return this.init;
  }

  /** Adds a viewer: it gets the init and the GOP so far at once, then live fragments. Returns its removal. */
  add(viewer: Fmp4Viewer): () => void {
    this.viewers.add(viewer);
    if (!this.detach) this.detach = this.hub.attach(this);
    else if (this.init) {
      viewer.onInit(this.init);
      for (const cached of this.gop) viewer.onFragment(cached);
    }
    viewer.onState?.(this.hub.state, undefined);
    return () => {
      if (!this.viewers.delete(viewer) || this.viewers.size > 0) return;
      this.detach?.();
      this.detach = undefined;
      this.init = undefined;
      this.gop = [];
      this.lastVideo = undefined;
      this.onEmpty(this);
    };
  }

  onTracks(tracks: StreamTracks): void {
    const parameters = tracks.video;
    // An SPS the hub could not read (it logs that): viewers wait for parameter sets that work.
    if (!parameters) return;
    const audio = tracks.audio;
    this.audioTrack =
      audio?.codec === "aac" && audio.aac
        ? {
            codec: "aac",
            sampleRate: audio.aac.sampleRate,
            channels: audio.aac.channels,
            config: audio.aac.config,
            codecString: audio.aac.codec,
          }
        : undefined;
    const video = { codec: tracks.codec, parameterSets: tracks.parameterSets, parameters };
    try {
      const videoOnlySegment = initSegment(video);
      this.init = {
        mime: mimeType(video, this.audioTrack),
        videoOnlyMime: mimeType(video),
        segment: this.audioTrack ? initSegment(video, this.audioTrack) : videoOnlySegment,
        videoOnlySegment,
        codec: parameters.codec,
        width: parameters.width,
        height: parameters.height,
        unplayableAudio: audio && !this.audioTrack ? audio.codec : undefined,
        generation: ++this.generation,
      };
    } catch (error) {
      // No SPS/PPS yet: the next tracks (in band at a keyframe) bring them.
      if (!(error instanceof Fmp4Error)) throw error;
      return;
    }
    // A new init: what was cached belongs to the old one; the viewers start over at the next keyframe.
    this.gop = [];
    this.lastVideo = undefined;
    for (const viewer of this.viewers) viewer.onInit(this.init);
  }

  onVideo(unit: HubUnit): void {
    const init = this.init;
    if (!init) return;
    if (!unit.keyframe && this.gop.length === 0) return;
    const previous = this.lastVideo;
    const duration = videoSampleDuration(previous ? unit.pts - previous.pts : DEFAULT_VIDEO_DURATION);
    this.lastVideo = unit;
    const codec = this.hub.currentTracks()?.codec ?? "h264";
    const out: Fmp4Fragment = {
      data: fragment(
        {
          trackId: VIDEO_TRACK_ID,
          decodeTime: unit.pts,
          duration,
          keyframe: unit.keyframe,
          data: sampleNalus(codec, unit.nalus),
          lengthPrefixed: true,
        },
        ++this.sequence,
      ),
      keyframe: unit.keyframe,
      audio: false,
      generation: init.generation,
      receivedAt: unit.receivedAt,
      pts: unit.pts,
      duration,
    };
    if (unit.keyframe) this.gop = [];
    this.gop.push(out);
    for (const viewer of this.viewers) viewer.onFragment(out);
  }

  onAudio(frame: HubAudio): void {
    const init = this.init;
    if (!init || !this.audioTrack || this.gop.length === 0) return;
    const out: Fmp4Fragment = {
      data: fragment(
        {
          trackId: AUDIO_TRACK_ID,
          decodeTime: frame.pts,
          duration: 1024,
          keyframe: true,
          data: [frame.data],
          lengthPrefixed: false,
        },
        ++this.sequence,
      ),
      keyframe: false,
      audio: true,
      generation: init.generation,
      receivedAt: Date.now(),
    };
    for (const viewer of this.viewers) viewer.onFragment(out);
  }

  onState(state: StreamState, down: StreamDown | undefined): void {
    for (const viewer of this.viewers) viewer.onState?.(state, down);
  }
}

/** The fMP4 feeds of all stream hubs, made with their first viewer and dropped with their last. */
export class Fmp4Feeds {
  private readonly feeds = new Map<StreamHub, Fmp4Feed>();
  /** Open live sockets (MSE viewers, also those still waiting for a first init). */
  sockets = 0;
  /** Video fragments not sent to a viewer that had fallen behind (it resumed at a keyframe). */
  skippedFragments = 0;

  feed(hub: StreamHub): Fmp4Feed {
    let feed = this.feeds.get(hub);
    if (!feed) {
      feed = new Fmp4Feed(hub, (empty) => {
        if (this.feeds.get(hub) === empty) this.feeds.delete(hub);
      });
      this.feeds.set(hub, feed);
    }
    return feed;
  }

  viewersOf(hub: StreamHub): number {
    return this.feeds.get(hub)?.viewerCount ?? 0;
  }

  list(): { hub: StreamHub; feed: Fmp4Feed }[] {
    return [...this.feeds].map(([hub, feed]) => ({ hub, feed }));
  }
}
