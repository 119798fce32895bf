/**
 * Continuous recording (per camera, off by default): the chosen stream cut into files of `segmentSeconds`,
 * each starting at a keyframe (so every file plays on its own), indexed as `segment` recordings. A stream
 * that goes down ends the current segment (the gap shows on the timeline); the next keyframe after it starts
 * a new one. Same file writer, same crash repair and retention as event clips.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import type { CameraEntry, CameraSet } from "../camera/registry.ts";
import type { StreamState } from "../camera/stream-status.ts";
import type { Config } from "../config/schema.ts";
import { UlidGenerator } from "../events/ulid.ts";
import { fileInitSegment, sameInit } from "../media/fmp4.ts";
import type { HubUnit, MediaConsumer, StreamTracks } from "../relay/stream-hub.ts";
import type { StreamHubs } from "../relay/stream-hubs.ts";
import { ClipFile, type OpenForWriting, openForWriting } from "./clip-file.ts";
import type { RecordingIndex } from "./recording-index.ts";
import { TrackWriter } from "./track-writer.ts";

export interface SegmentRecorderOptions {
  config: Config;
  cameras: CameraSet;
  streams: StreamHubs;
  index: RecordingIndex;
  dir: string;
  logger: Logger;
  openFile?: OpenForWriting;
  /** Told after each finished segment (retention may have work). */
  onSegment?: () => void;
}

interface Segment {
  id: string;
  track: TrackWriter | undefined;
  /** Units that came while the file was being created. */
  waiting: HubUnit[];
  startedAt: number;
}

const MAX_WAITING_UNITS = 500;

class CameraSegments implements MediaConsumer {
  private init: Uint8Array | undefined;
  private codec: StreamTracks["codec"] = "h264";
  private current: Segment | undefined;
  private readonly detach: () => void;
  private finishing: Promise<void> = Promise.resolve();

  constructor(
    readonly entry: CameraEntry,
    private readonly recorder: SegmentRecorder,
    streams: StreamHubs,
    stream: "main" | "sub",
    private readonly segmentMs: number,
  ) {
    this.detach = streams.hub(entry, stream).attach(this);
  }

  onTracks(tracks: StreamTracks): void {
    const init = fileInitSegment(tracks);
    if (!init) return;
    // New parameter sets: the running file belongs to the old ones.
    if (this.init && !sameInit(this.init, init)) this.end();
    this.init = init;
    this.codec = tracks.codec;
  }

  onVideo(unit: HubUnit): void {
    if (!this.init) return;
    const current = this.current;
    if (unit.keyframe && (!current || unit.receivedAt - current.startedAt >= this.segmentMs)) {
      this.end();
      this.begin(unit);
      return;
    }
    if (!current) return;
    if (current.track) current.track.write(unit);
    else if (current.waiting.length < MAX_WAITING_UNITS) current.waiting.push(unit);
  }

  onState(state: StreamState): void {
    // A gap: what was recorded so far is one file; the next keyframe starts another.
    if (state === "down") this.end();
  }

  private begin(first: HubUnit): void {
    const init = this.init;
    if (!init) return;
    const id = this.recorder.nextId();
    const started = first.receivedAt;
    const relative = join(
      this.entry.id,
      new Date(started).toISOString().slice(0, 10),
      `segment-${new Date(started).toISOString().replace(/[:.]/g, "-")}.mp4`,
    );
    const segment: Segment = { id, track: undefined, waiting: [first], startedAt: started };
    this.current = segment;
    void ClipFile.create(join(this.recorder.dir, relative), init, this.recorder.openFile).then(
      (file) => {
        void this.recorder.index.begin({
          id,
          camera: this.entry.id,
          kind: "segment",
          file: relative,
          startedAt: started,
        });
        const track = new TrackWriter(file, first, this.codec);
        for (const unit of segment.waiting) track.write(unit);
        segment.waiting = [];
        segment.track = track;
        // Ended while the file was being created.
        if (this.current !== segment) this.finish(segment);
      },
      (error: unknown) => {
        if (this.current === segment) this.current = undefined;
        this.recorder.failedToStart(this.entry.id, error);
      },
    );
  }

  /** Ends the current segment (its file is finished in the background). */
  private end(): void {
    const segment = this.current;
    this.current = undefined;
    if (segment?.track) this.finish(segment);
  }

  private finish(segment: Segment): void {
    const track = segment.track;
    if (!track) return;
    segment.track = undefined;
    const durationMs = track.durationMs;
    this.finishing = this.finishing.then(() =>
      track.file.finish(durationMs).then(
        async ({ bytes }) => {
          await this.recorder.index.done(segment.id, segment.startedAt + durationMs, durationMs, bytes);
          this.recorder.segmentDone();
        },
        (error: unknown) =>
          this.recorder.index.failed(
            segment.id,
            Date.now(),
            error instanceof Error ? error.message : String(error),
          ),
      ),
    );
  }

  async close(): Promise<void> {
    this.detach();
    this.end();
    await this.finishing;
  }
}

export class SegmentRecorder {
  private readonly cameras = new Map<string, CameraSegments>();
  private readonly unsubscribes: (() => void)[] = [];
  private readonly ids = new UlidGenerator();
  readonly openFile: OpenForWriting;

  constructor(private readonly options: SegmentRecorderOptions) {
    this.openFile = options.openFile ?? openForWriting;
  }

  get dir(): string {
    return this.options.dir;
  }

  get index(): RecordingIndex {
    return this.options.index;
  }

  nextId(): string {
    return this.ids.next();
  }

  segmentDone(): void {
    this.options.onSegment?.();
  }

  failedToStart(camera: string, error: unknown): void {
    this.options.logger.warn(
      { camera, err: error instanceof Error ? error.message : String(error) },
      "could not start a continuous recording segment",
    );
  }

  start(): void {
    for (const entry of this.options.cameras.list()) this.watch(entry);
    this.unsubscribes.push(
      this.options.cameras.watch({
        added: (entry) => this.watch(entry),
        removed: (entry) => void this.unwatch(entry.id),
      }),
    );
  }

  private watch(entry: CameraEntry): void {
    const continuous = this.options.config.cameras.find((c) => c.id === entry.id)?.recording?.continuous;
    if (!continuous || this.cameras.has(entry.id)) return;
    this.cameras.set(
      entry.id,
      new CameraSegments(
        entry,
        this,
        this.options.streams,
        continuous.stream,
        continuous.segmentSeconds * 1000,
      ),
    );
  }

  private async unwatch(camera: string): Promise<void> {
    const segments = this.cameras.get(camera);
    this.cameras.delete(camera);
    await segments?.close();
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    await Promise.all([...this.cameras.keys()].map((camera) => this.unwatch(camera)));
  }
}
