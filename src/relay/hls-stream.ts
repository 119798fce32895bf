/**
 * Low-Latency HLS of one stream (RFC 8216bis, Apple's LL-HLS), made from the same fMP4 fragments the MSE
 * feed makes once per stream (`fmp4-feed.ts`): one `moof`+`mdat` per picture, so a *part* is a run of them
 * (about `partTargetMs`, cut at picture boundaries, never longer) and a *segment* is the parts from one
 * keyframe to the next once `segmentMinMs` has passed (every segment starts with a keyframe, so each plays
 * on its own). Players without MSE (iPhones before iOS 17.1, smart TVs, Chromecast) play it natively; hls.js
 * and ffmpeg read it too.
 *
 * Bounded: the last `maxSegments` segments are kept (the parts only of the newest ones), and a segment that
 * grows past `maxSegmentBytes` without a keyframe (a camera with a very long GOP at a high bitrate) ends the
 * playlist's continuity: it is dropped and the next keyframe starts over after a discontinuity.
 * No I/O: the route serves what this holds, and waits on it for blocking playlist reloads.
 */
import type { Fmp4Fragment, Fmp4Init, Fmp4Viewer } from "./fmp4-feed.ts";

const TICKS_PER_SECOND = 90_000;

export interface HlsOptions {
  partTargetMs?: number;
  segmentMinMs?: number;
  maxSegments?: number;
  maxSegmentBytes?: number;
}

interface Part {
  data: Uint8Array[];
  bytes: number;
  /** 90 kHz ticks. */
  duration: number;
  independent: boolean;
}

interface Segment {
  msn: number;
  parts: Part[];
  /** Whole: no more parts will be added. */
  complete: boolean;
  /** The wall-clock capture time of its first picture (EXT-X-PROGRAM-DATE-TIME). */
  startedAt: number;
  /** A discontinuity before it (a new init, or a reset). */
  discontinuity: boolean;
  generation: number;
}

function sumDuration(parts: readonly Part[]): number {
  return parts.reduce((sum, part) => sum + part.duration, 0);
}

/** A whole part's pictures joined once, so each request for it is one buffer, not a join per request. */
function seal(part: Part): void {
  if (part.data.length > 1) part.data = [Buffer.concat(part.data)];
}

function seconds(ticks: number): string {
  return (ticks / TICKS_PER_SECOND).toFixed(3);
}

export class HlsStream implements Fmp4Viewer {
  private init: Fmp4Init | undefined;
  private readonly segments: Segment[] = [];
  private nextMsn = 0;
  private pendingDiscontinuity = false;
  private readonly waiters = new Set<() => void>();
  private readonly partTarget: number;
  private readonly segmentMin: number;
  private readonly maxSegments: number;
  private readonly maxSegmentBytes: number;
  /** The longest segment so far, whole seconds (EXT-X-TARGETDURATION never shrinks). */
  private targetSeconds = 1;
  /** Segments dropped because one grew past its byte bound without a keyframe. */
  resets = 0;
  private discontinuitySequence = 0;
  private cachedPlaylist: string | undefined;

  constructor(options: HlsOptions = {}) {
    this.partTarget = ((options.partTargetMs ?? 500) / 1000) * TICKS_PER_SECOND;
    this.segmentMin = ((options.segmentMinMs ?? 1000) / 1000) * TICKS_PER_SECOND;
    this.maxSegments = options.maxSegments ?? 7;
    this.maxSegmentBytes = options.maxSegmentBytes ?? 48 * 1024 * 1024;
  }

  get currentInit(): Fmp4Init | undefined {
    return this.init;
  }

  /** Bytes held (for the bound's test and the metrics). */
  get bytes(): number {
    let sum = 0;
    for (const segment of this.segments) for (const part of segment.parts) sum += part.bytes;
    return sum;
  }

  onInit(init: Fmp4Init): void {
    if (this.init && this.init.generation !== init.generation) this.endOpen(true);
    this.init = init;
    this.wake();
  }

  onFragment(fragment: Fmp4Fragment): void {
    if (!this.init || fragment.generation !== this.init.generation) return;
    let open = this.openSegment();
    if (!fragment.audio && fragment.keyframe) {
      // A keyframe ends the segment once it is long enough (or starts the first one).
      if (!open || sumDuration(open.parts) >= this.segmentMin) {
        if (open) this.complete(open);
        open = this.begin(fragment.receivedAt);
      }
    }
    if (!open) return; // before the first keyframe
    let part = open.parts[open.parts.length - 1];
    const duration = fragment.audio ? 0 : (fragment.duration ?? 0);
    // A part ends before a picture that would make it longer than the target (never longer: RFC 8216bis).
    if (!part || (!fragment.audio && part.duration > 0 && part.duration + duration > this.partTarget)) {
      if (part) seal(part);
      part = { data: [], bytes: 0, duration: 0, independent: !fragment.audio && fragment.keyframe };
      open.parts.push(part);
      this.wake();
    }
    part.data.push(fragment.data);
    part.bytes += fragment.data.length;
    part.duration += duration;
    if (this.segmentBytes(open) > this.maxSegmentBytes) {
      this.resets++;
      this.drop(open);
      this.pendingDiscontinuity = true;
      this.wake();
    }
  }

  /** Media sequence number and part index of the newest *complete* part (what a player may load). */
  get latest(): { msn: number; part: number } | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i] as Segment;
      const whole = segment.complete ? segment.parts.length : segment.parts.length - 1;
      if (whole > 0) return { msn: segment.msn, part: whole - 1 };
    }
    return undefined;
  }

  /**
   * Whether a blocking reload for part `part` of segment `msn` (-1: the whole segment) can be answered: the
   * part is whole, or its segment is (a part past a finished segment's last is the next segment's business:
   * the playlist answered now says so), or the segment has left the playlist.
   */
  has(msn: number, part: number): boolean {
    const segment = this.segments.find((s) => s.msn === msn);
    if (!segment) return this.segments.length > 0 && msn < (this.segments[0] as Segment).msn;
    if (part < 0 || segment.complete) return segment.complete;
    return part < segment.parts.length - 1;
  }

  /** Resolves once `has(msn, part)` or after `timeoutMs` (a blocking playlist reload). */
  waitFor(msn: number, part: number, timeoutMs: number): Promise<boolean> {
    return this.until(() => this.has(msn, part), timeoutMs);
  }

  /**
   * Resolves once a first whole segment is listed (or after `timeoutMs`): a player that does not read parts
   * (ffmpeg, older TVs) finds nothing to play in a playlist of parts alone, and says "Empty segment".
   */
  whenStarted(timeoutMs: number, segments = 1): Promise<boolean> {
    return this.until(
      () => this.segments.filter((segment) => segment.complete).length >= segments,
      timeoutMs,
    );
  }

  private until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (condition()) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (found: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(found);
      };
      this.waiters.add(check);
    });
  }

  private complete(segment: Segment): void {
    segment.complete = true;
    const last = segment.parts[segment.parts.length - 1];
    if (last) seal(last);
    const duration = Math.ceil(sumDuration(segment.parts) / TICKS_PER_SECOND);
    this.targetSeconds = Math.max(this.targetSeconds, duration);
    this.wake();
  }

  segment(msn: number): Uint8Array[] | undefined {
    const segment = this.segments.find((s) => s.msn === msn && s.complete);
    return segment?.parts.flatMap((part) => part.data);
  }

  part(msn: number, index: number): Uint8Array[] | undefined {
    const segment = this.segments.find((s) => s.msn === msn);
    if (!segment) return undefined;
    const whole = segment.complete ? segment.parts.length : segment.parts.length - 1;
    return index < whole ? segment.parts[index]?.data : undefined;
  }

  /** The media playlist; undefined before the first segment. Made once per change (players ask often). */
  playlist(): string | undefined {
    this.cachedPlaylist ??= this.makePlaylist();
    return this.cachedPlaylist;
  }

  private makePlaylist(): string | undefined {
    const init = this.init;
    const first = this.segments[0];
    if (!init || !first) return undefined;
    const partTarget = this.partTarget / TICKS_PER_SECOND;
    const lines = [
      "#EXTM3U",
      "#EXT-X-VERSION:9",
      `#EXT-X-TARGETDURATION:${this.targetSeconds}`,
      `#EXT-X-PART-INF:PART-TARGET=${partTarget.toFixed(3)}`,
      `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${(3 * partTarget).toFixed(3)}`,
      `#EXT-X-MEDIA-SEQUENCE:${first.msn}`,
      `#EXT-X-DISCONTINUITY-SEQUENCE:${this.discontinuitySequence}`,
    ];
    let generation: number | undefined;
    // Parts are listed for the newest segments only (the last few seconds, what LL-HLS needs).
    const partsFrom = Math.max(0, this.segments.length - 3);
    this.segments.forEach((segment, index) => {
      if (segment.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
      if (segment.generation !== generation) {
        generation = segment.generation;
        lines.push(`#EXT-X-MAP:URI="init-${segment.generation}.mp4"`);
      }
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.startedAt).toISOString()}`);
      const whole = segment.complete ? segment.parts.length : segment.parts.length - 1;
      if (index >= partsFrom)
        segment.parts.slice(0, whole).forEach((part, i) => {
          lines.push(
            `#EXT-X-PART:DURATION=${seconds(part.duration)},URI="part-${segment.msn}.${i}.m4s"${part.independent ? ",INDEPENDENT=YES" : ""}`,
          );
        });
      if (segment.complete) {
        lines.push(`#EXTINF:${seconds(sumDuration(segment.parts))},`, `seg-${segment.msn}.m4s`);
      } else {
        // The next part, while it is being made: the player asks for it ahead (a blocking request).
        lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-${segment.msn}.${whole}.m4s"`);
      }
    });
    return `${lines.join("\n")}\n`;
  }

  private openSegment(): Segment | undefined {
    const last = this.segments[this.segments.length - 1];
    return last && !last.complete ? last : undefined;
  }

  private begin(startedAt: number): Segment {
    const segment: Segment = {
      msn: this.nextMsn++,
      parts: [],
      complete: false,
      startedAt,
      discontinuity: this.pendingDiscontinuity,
      generation: this.init?.generation ?? 0,
    };
    this.pendingDiscontinuity = false;
    this.segments.push(segment);
    while (this.segments.length > this.maxSegments) this.drop(this.segments[0] as Segment);
    return segment;
  }

  /** Ends the open segment (a new init: what follows belongs to other parameter sets). */
  private endOpen(discontinuity: boolean): void {
    const open = this.openSegment();
    if (open) {
      if (open.parts.length > 0) this.complete(open);
      else this.segments.pop();
    }
    if (discontinuity) this.pendingDiscontinuity = true;
  }

  /** Removes a segment; a discontinuity leaving the playlist is counted (EXT-X-DISCONTINUITY-SEQUENCE). */
  private drop(segment: Segment): void {
    const at = this.segments.indexOf(segment);
    if (at < 0) return;
    this.segments.splice(at, 1);
    if (segment.discontinuity) {
      // Its tag leaves with it; the next segment carries the discontinuity when it was the open one.
      if (at === 0) this.discontinuitySequence++;
      else if (this.segments[at]) (this.segments[at] as Segment).discontinuity = true;
    }
  }

  private segmentBytes(segment: Segment): number {
    return segment.parts.reduce((sum, part) => sum + part.bytes, 0);
  }

  private wake(): void {
    // Whatever woke the waiters changed what the playlist lists.
    this.cachedPlaylist = undefined;
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Pending blocking requests, for the tests' eyes. */
  get waiting(): number {
    return this.waiters.size;
  }
}
