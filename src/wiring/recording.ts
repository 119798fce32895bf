/**
 * Recording: event clips with pre-roll, continuous segments, the recordings index and its retention, all
 * from the relay's streams (no second camera session), and the holes of continuous footage filled from the
 * cameras' SD cards (backfill). At start, files a crash left half-written are
 * repaired before anything records.
 */

import { resolve } from "node:path";
import { UlidGenerator } from "../events/ulid.ts";
import { Backfill } from "../recording/backfill.ts";
import { ClipRecorder } from "../recording/clip-recorder.ts";
import { RecordingIndex } from "../recording/recording-index.ts";
import { repairRecordings } from "../recording/repair.ts";
import { RecordingRetention } from "../recording/retention.ts";
import { SegmentRecorder } from "../recording/segment-recorder.ts";
import { StorageWatch } from "../recording/storage-watch.ts";
import { errorText } from "../util/error-text.ts";
import type { Core } from "./core.ts";
import type { Events } from "./events.ts";
import type { Ownership } from "./ownership.ts";
import type { Part } from "./part.ts";
import type { Relay } from "./relay.ts";

export interface Recording extends Part {
  index: RecordingIndex;
  dir: string;
  backfill: Backfill;
  storage: StorageWatch;
}

export function makeRecording(parts: {
  core: Core;
  ownership: Ownership;
  relay: Relay;
  events: Events;
}): Recording {
  const { config, sql, instance, storageDir, logger, options } = parts.core;
  const pipeline = parts.events.pipeline;
  const faults = options.recordingFaults;
  const index = new RecordingIndex(sql, instance, (error) =>
    logger.warn({ err: errorText(error) }, "the recordings index could not be written"),
  );
  const dir = resolve(storageDir, config.recording.dir ?? "recordings");
  const common = { config, cameras: parts.ownership.owned, streams: parts.relay.streams, index, dir, logger };
  const clips = new ClipRecorder({
    ...common,
    store: pipeline.store,
    bus: pipeline.bus,
    publisher: pipeline.publisher,
    ...faults,
  });
  const retention = new RecordingRetention(
    index,
    dir,
    config,
    logger,
    (ids) => pipeline.store.incidents.existing(ids),
    () => pipeline.store.incidents.pinned(),
  );
  const segments = new SegmentRecorder({
    ...common,
    ...(faults?.openFile ? { openFile: faults.openFile } : {}),
    onSegment: () => void retention.run(),
  });
  const ids = new UlidGenerator();
  const backfill = new Backfill({
    config,
    cameras: parts.ownership.owned,
    index,
    dir,
    logger,
    nextId: () => ids.next(),
  });
  const storage = new StorageWatch(index, dir, config, pipeline.publisher, logger);
  parts.core.metrics.watchStorage(() => storage.last?.cameras ?? []);
  // Each new clip may take a budget over its limit.
  const unsubscribe = pipeline.bus.subscribe((event) => {
    if (event.source === "gateway" && event.code === "ClipReady") void retention.run();
  });
  return {
    name: "recording",
    index,
    dir,
    backfill,
    storage,
    async start() {
      await repairRecordings(index, dir, logger);
      clips.start();
      segments.start();
      retention.start();
      await backfill.start();
      storage.start();
    },
    async close() {
      unsubscribe();
      storage.stop();
      await backfill.close();
      retention.stop();
      await clips.close();
      await segments.close();
    },
  };
}
