/**
 * The relay: MJPEG hubs, snapshots, the H.264/H.265 stream hubs and the event stream hubs, one camera
 * connection per stream for any number of consumers. It closes after everything that consumes it (the
 * event pipeline, recording, the servers).
 */
import { EventStreams } from "../relay/event-stream-hub.ts";
import { HubRegistry } from "../relay/hub-registry.ts";
import { SnapshotService } from "../relay/snapshot.ts";
import { StreamHubs } from "../relay/stream-hubs.ts";
import type { Core } from "./core.ts";
import type { Part } from "./part.ts";

export interface Relay extends Part {
  hubs: HubRegistry;
  snapshots: SnapshotService;
  streams: StreamHubs;
  eventStreams: EventStreams;
}

export function makeRelay({ core }: { core: Core }): Relay {
  const { config, cameras, preload } = core;
  const hubs = new HubRegistry(cameras, {
    lingerMs: config.relay.lingerMs,
    stallMs: config.relay.stallMs,
    offlineFrames: config.relay.offlineFrames,
    preload,
  });
  const streams = new StreamHubs(cameras, { lingerMs: config.relay.lingerMs, preload });
  const eventStreams = new EventStreams(cameras, {
    codesFor: (id) => config.cameras.find((c) => c.id === id)?.events?.codes ?? config.events.codes,
    heartbeatSeconds: config.events.heartbeatSeconds,
    lingerMs: config.relay.lingerMs,
  });
  core.metrics.watchRelay(hubs);
  return {
    name: "relay",
    hubs,
    snapshots: new SnapshotService(cameras, hubs),
    streams,
    eventStreams,
    close() {
      streams.close();
      hubs.close();
      eventStreams.close();
    },
  };
}
