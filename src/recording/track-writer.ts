/**
 * The video of one recording file: access units from a keyframe on, each written as one fMP4 fragment with
 * the file's own decode times (starting at 0) and a duration from the next unit (a gap, such as a
 * reconnect, counts as one picture's time). Shared by event clips and continuous segments.
 */
import type { VideoCodec } from "../media/access-unit.ts";
import {
  DEFAULT_VIDEO_DURATION,
  fragment,
  sampleNalus,
  VIDEO_TRACK_ID,
  videoSampleDuration,
} from "../media/fmp4.ts";
import type { HubUnit } from "../relay/stream-hub.ts";
import type { ClipFile } from "./clip-file.ts";

export class TrackWriter {
  private readonly firstPts: number;
  private lastPts: number;
  private lastDuration = DEFAULT_VIDEO_DURATION;
  private sequence = 0;
  /** When the first unit was captured (ms since epoch). */
  readonly startedAt: number;

  constructor(
    readonly file: ClipFile,
    first: HubUnit,
    private readonly codec: VideoCodec,
  ) {
    this.firstPts = first.pts;
    this.lastPts = first.pts;
    this.startedAt = first.receivedAt;
  }

  /** Appends a unit (a unit at or before the last one written is skipped). */
  write(unit: HubUnit): void {
    if (unit.pts < this.lastPts || (unit.pts === this.lastPts && this.sequence > 0)) return;
    this.lastDuration = videoSampleDuration(unit.pts - this.lastPts);
    this.lastPts = unit.pts;
    this.file.append(
      fragment(
        {
          trackId: VIDEO_TRACK_ID,
          decodeTime: unit.pts - this.firstPts,
          duration: this.lastDuration,
          keyframe: unit.keyframe,
          data: sampleNalus(this.codec, unit.nalus),
          lengthPrefixed: true,
        },
        ++this.sequence,
      ),
    );
  }

  /** The time the written units cover, the last one's duration included. */
  get durationMs(): number {
    return ((this.lastPts - this.firstPts + this.lastDuration) / 90_000) * 1000;
  }
}
