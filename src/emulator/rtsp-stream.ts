/**
 * One emulated video stream (per camera, channel and subtype): the fixture's pictures looped at the frame
 * rate with a monotonic 90 kHz clock (it never rewinds at the loop point), each stamped with an SEI
 * `camgate seq=<n> t=<ms>`. It runs while someone watches. Quirk switches reproduce what real cameras do
 * to their streams.
 */
import { CounterEncoder } from "./counter-encoder.ts";
import { type FixturePicture, loadFixture, stampNal } from "./video-fixture.ts";

/** What the RTSP face needs to describe a stream. */
export interface VideoSourceInfo {
  codec: "h264" | "h265";
  /** The first parameter sets (for the SDP's sprop-parameter-sets). */
  parameterSets: Buffer[];
  fps: number;
}

/** Where pictures come from: a fixture looped, or the counter encoder drawing each one as it goes. */
export type VideoSourceSpec =
  | { kind: "fixture"; file: string; codec: "h264" | "h265" }
  | { kind: "counter"; width: number; height: number; fps: number; gop: number };

interface PictureSource {
  info: VideoSourceInfo;
  next(sequence: number, capturedAt: number): FixturePicture;
}

function pictureSource(spec: VideoSourceSpec): PictureSource {
  if (spec.kind === "counter") {
    const encoder = new CounterEncoder(spec);
    return {
      info: { codec: "h264", parameterSets: [encoder.sps, encoder.pps], fps: spec.fps },
      next: (sequence, capturedAt) => encoder.encode(sequence, capturedAt),
    };
  }
  const fixture = loadFixture(spec.file, spec.codec);
  let index = 0;
  return {
    info: fixture,
    next: () => {
      const picture = fixture.pictures[index] as FixturePicture;
      index = (index + 1) % fixture.pictures.length;
      return picture;
    },
  };
}

export interface StreamQuirks {
  /** A Dahua-OEM DVR stamps one frame every ~2 s hours off (mediamtx PR #6255): +2 h on every 50th. */
  timestampJump?: boolean;
  /** SPS and PPS only in the SDP, never in band. */
  parameterSetsOnlyInSdp?: boolean;
  /** The marker bit is never set (FLIR M400, gortsplib's decoder). */
  noMarker?: boolean;
  /** Drop every Nth RTP packet (a lossy camera). */
  dropEveryPacket?: number;
  /** A long GOP: one keyframe in 10 s ("smart codec", frigate#11041). */
  longGop?: boolean;
  /**
   * Every Nth RTP packet comes with something broken before it, in turn: bytes that are not an interleaved
   * frame, a frame on a channel never set up, an RTP version-0 header, a truncated FU, a zero-length frame.
   * Out-of-step sockets are why go2rtc scans for the next `$` (rtsp-h264.md §2); the rest is what firmware
   * bugs and flaky links produce.
   */
  garbageEveryPacket?: number;
}

export interface StampedPicture {
  nalus: Buffer[];
  keyframe: boolean;
  /** 90 kHz, monotonic (unless the timestamp-jump quirk stamps this one off). */
  timestamp: number;
  sequence: number;
}

type Listener = (picture: StampedPicture) => void;

const PARAMETER_TYPES = { h264: [7, 8], h265: [32, 33, 34] };

export class EmulatedVideoStream {
  readonly fixture: VideoSourceInfo;
  private readonly source: PictureSource;
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  /** When the picture clock started (performance.now() and Date.now()), and the pictures made since. */
  private clock = { startedAt: 0, epoch: 0, made: 0 };
  private sequence = 0;
  private timestamp = 0;
  /** Pictures held back by the stall fault. */
  suppressed = 0;

  /** Filler data NAL units (type 12 / 38) added to each picture to reach `bitrate`: a real main stream's weight. */
  private readonly filler: Buffer | undefined;

  constructor(
    spec: VideoSourceSpec,
    private readonly quirks: StreamQuirks,
    private readonly stalled: () => boolean,
    /** Bits per second to pad the stream to (the fixtures are ~170 kbit/s; a 4 MP main stream is 2-8 Mbit/s). */
    bitrate?: number,
  ) {
    this.source = pictureSource(spec);
    this.fixture = this.source.info;
    const codec = this.fixture.codec;
    const pictures = spec.kind === "fixture" ? loadFixture(spec.file, spec.codec).pictures : [];
    const average =
      pictures.reduce((sum, p) => sum + p.nalus.reduce((n, nal) => n + nal.length + 4, 0), 0) /
      Math.max(1, pictures.length);
    const missing =
      bitrate === undefined || pictures.length === 0
        ? 0
        : Math.round(bitrate / 8 / this.fixture.fps - average);
    if (missing > 8) {
      // 0xff bytes: no start code can form, so no emulation prevention; the trailing bits end the RBSP.
      const header = codec === "h264" ? Buffer.from([12]) : Buffer.from([38 << 1, 0x01]);
      this.filler = Buffer.concat([
        header,
        Buffer.alloc(missing - header.length - 1, 0xff),
        Buffer.from([0x80]),
      ]);
    }
  }

  /** The timestamp the next picture will carry (for a session's RTP-Info). */
  get nextTimestamp(): number {
    return (this.timestamp + 90_000 / this.fixture.fps) >>> 0;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.clock = { startedAt: performance.now(), epoch: Date.now(), made: 0 };
      this.timer = setInterval(() => this.catchUp(), 1000 / this.fixture.fps);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /**
   * A camera's pictures follow its clock: when the timer fires late (a busy machine), the pictures due
   * since are made now, in order, so the stream's time keeps up with the wall clock and no picture number
   * is skipped (before, a late timer made the stream's time fall behind: a 2 s segment took 2.3 s). Behind
   * by more than two seconds (a process that was stopped), the clock starts again from now instead.
   */
  private catchUp(): void {
    const interval = 1000 / this.fixture.fps;
    const due = Math.floor((performance.now() - this.clock.startedAt) / interval);
    if (due - this.clock.made > 2 * this.fixture.fps) this.clock.made = due - 1;
    while (this.clock.made < due && this.listeners.size > 0) {
      this.clock.made++;
      this.tick(Math.round(this.clock.epoch + this.clock.made * interval));
    }
  }

  /** One picture, captured at `capturedAt` (its scheduled time on the camera's clock). */
  private tick(capturedAt: number): void {
    this.timestamp = (this.timestamp + 90_000 / this.fixture.fps) >>> 0;
    this.sequence++;
    if (this.stalled()) {
      this.suppressed++;
      return;
    }
    const source = this.source.next(this.sequence, capturedAt);
    const codec = this.fixture.codec;
    const typeOf = (nal: Buffer) =>
      codec === "h264" ? (nal[0] as number) & 0x1f : ((nal[0] as number) >> 1) & 0x3f;
    const isVcl = (nal: Buffer) =>
      codec === "h264" ? typeOf(nal) <= 5 && typeOf(nal) >= 1 : typeOf(nal) < 32;
    let nalus = source.nalus;
    if (this.quirks.parameterSetsOnlyInSdp)
      nalus = nalus.filter((nal) => !PARAMETER_TYPES[codec].includes(typeOf(nal)));
    const firstVcl = nalus.findIndex(isVcl);
    const stamp = stampNal(codec, this.sequence, capturedAt);
    nalus = [
      ...nalus.slice(0, firstVcl),
      stamp,
      ...nalus.slice(firstVcl),
      ...(this.filler ? [this.filler] : []),
    ];
    const jump = this.quirks.timestampJump && this.sequence % 50 === 0 ? 2 * 3600 * 90_000 : 0;
    const picture = {
      nalus,
      keyframe: source.keyframe,
      timestamp: (this.timestamp + jump) >>> 0,
      sequence: this.sequence,
    };
    for (const listener of this.listeners) listener(picture);
  }
}
