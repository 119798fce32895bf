/**
 * DHAV to fragmented MP4, without re-encoding, so a browser plays a camera's SD card recording: the init
 * segment once the first key picture brings its parameter sets, then one fragment per picture. Decode times
 * come from the records' millisecond counter (unwrapped at 65,536), else from the frame rate when the counter
 * does not move; audio and auxiliary records are left out (G.711 has no MP4 entry browsers take). Pure.
 */

import type { DhavRecord } from "./dhav.ts";
import { fileInitSegment, fragment, sampleNalus, VIDEO_TRACK_ID, videoSampleDuration } from "./fmp4.ts";
import { H264_NAL, h264NalType, parseH264Sps, splitAnnexB, type VideoParameters } from "./h264.ts";
import { H265_NAL, h265NalType, parseH265Sps } from "./h265.ts";

const TICKS_PER_MS = 90;

/** Why a recording cannot be re-muxed (a typed code; the route answers the file as it is instead). */
export class DhavRemuxError extends Error {
  readonly code = "unsupported-codec";
  constructor(message: string) {
    super(message);
    this.name = "DhavRemuxError";
  }
}

export class DhavToFmp4 {
  private codec: "h264" | "h265" | undefined;
  private init: Uint8Array | undefined;
  private decodeTime = 0;
  private lastStep = 0;
  private lastMs: number | undefined;
  private fps = 25;
  private sequence = 0;
  /** The camera's wall clock at the first picture written. */
  firstDate: Date | undefined;
  pictures = 0;

  /** The time the pictures written cover, the last one's duration included (ms). */
  get durationMs(): number {
    return this.pictures === 0 ? 0 : (this.decodeTime + videoSampleDuration(this.lastStep)) / 90;
  }

  /** The MP4 bytes a record adds (the init segment before the first picture), none for what is left out. */
  push(record: DhavRecord): Uint8Array[] {
    if (record.kind !== "video") return [];
    if (record.fps) this.fps = record.fps;
    if (!this.init) {
      if (!record.keyframe) return [];
      const codec = record.codec ?? "h264";
      if (codec === "other") throw new DhavRemuxError("the recording is neither H.264 nor H.265");
      const nalus = splitAnnexB(record.payload);
      const init = this.initFor(codec, nalus);
      if (!init) return [];
      this.codec = codec;
      this.init = init;
      this.firstDate = record.date;
      this.lastMs = record.ms;
      return [init, this.picture(record, nalus)];
    }
    return [this.picture(record, splitAnnexB(record.payload))];
  }

  private initFor(codec: "h264" | "h265", nalus: Uint8Array[]): Uint8Array | undefined {
    const type = codec === "h264" ? h264NalType : h265NalType;
    const sets =
      codec === "h264"
        ? nalus.filter((n) => type(n) === H264_NAL.sps || type(n) === H264_NAL.pps)
        : nalus.filter((n) => {
            const t = type(n);
            return t === H265_NAL.vps || t === H265_NAL.sps || t === H265_NAL.pps;
          });
    const sps = nalus.find((n) => type(n) === (codec === "h264" ? H264_NAL.sps : H265_NAL.sps));
    if (!sps) return undefined;
    let parameters: VideoParameters;
    try {
      parameters = codec === "h264" ? parseH264Sps(sps) : parseH265Sps(sps);
    } catch {
      return undefined;
    }
    return fileInitSegment({ codec, parameterSets: sets, video: parameters });
  }

  private picture(record: DhavRecord, nalus: Uint8Array[]): Uint8Array {
    const frameTicks = Math.round(90_000 / Math.max(1, this.fps));
    let step = frameTicks;
    if (this.lastMs !== undefined && this.pictures > 0) {
      const ms = (record.ms - this.lastMs + 65_536) % 65_536;
      // A counter that stands still or leaps (a cut in the recording) counts as one picture's time.
      step = ms > 0 && ms < 10_000 ? ms * TICKS_PER_MS : frameTicks;
    }
    if (this.pictures > 0) this.decodeTime += step;
    this.lastStep = step;
    this.lastMs = record.ms;
    this.pictures++;
    return fragment(
      {
        trackId: VIDEO_TRACK_ID,
        decodeTime: this.decodeTime,
        duration: videoSampleDuration(step),
        keyframe: record.keyframe,
        data: sampleNalus(this.codec ?? "h264", nalus),
        lengthPrefixed: true,
      },
      ++this.sequence,
    );
  }
}
