/**
 * The event pipeline (camera event streams, alarm mail, the gateway's own events; stored, then delivered
 * by SSE, webhooks and MQTT) and, with several instances, the relay that brings the others' events to this
 * instance's live feeds. It closes before the relay it listens to.
 */
import { announceEvent, ClusterEventRelay } from "../cluster/event-relay.ts";
import { eventLinker } from "../events/event-links.ts";
import { EventPipeline } from "../events/pipeline.ts";
import { clipWanted } from "../recording/clip-policy.ts";
import { errorText } from "../util/error-text.ts";
import type { Core } from "./core.ts";
import type { Ownership } from "./ownership.ts";
import type { Part } from "./part.ts";
import type { Relay } from "./relay.ts";

export interface Events extends Part {
  pipeline: EventPipeline;
  /** How many events of other instances reached this one's live feeds. */
  relayed(): number;
}

export function makeEvents({
  core,
  ownership,
  relay,
}: {
  core: Core;
  ownership: Ownership;
  relay: Relay;
}): Events {
  const { config, db, sql, instance, cameras, logger, storageDir, metrics, pgStore } = core;
  const pipeline = new EventPipeline({
    config,
    db,
    sql,
    ...(instance ? { cluster: { instance } } : {}),
    cameras,
    owned: ownership.owned,
    hubs: relay.hubs,
    eventStreams: relay.eventStreams,
    snapshots: relay.snapshots,
    logger,
    storageDir,
    loginLimiter: core.loginLimiter,
    links: eventLinker({
      signer: core.signer,
      // Read at each delivery: the listen address is known once the HTTP part has bound it.
      publicUrl: () => config.server.publicUrl ?? core.addresses.url,
      linkHours: config.events.linkHours,
      clipsWanted: (camera, code) => clipWanted(config, camera, code),
    }),
  });
  // Clustered: each stored event is announced, and the others' events reach this instance's live feeds.
  const clusterUrl = config.storage.postgres?.url;
  const eventRelay =
    pgStore && clusterUrl && instance
      ? new ClusterEventRelay({
          url: clusterUrl,
          instance,
          bus: pipeline.bus,
          read: (id) => pipeline.store.get(id),
          onError: (error) => logger.warn({ instance, err: errorText(error) }, "cluster: event relay"),
        })
      : undefined;
  if (instance && pgStore) pipeline.bus.onStored((tx, event) => announceEvent(tx, instance, event));
  metrics.watchEvents(
    (listener) => pipeline.bus.subscribe(listener),
    (listener) => pipeline.outbox.onOutcome(listener),
  );
  metrics.watchEventStore(pipeline.publisher);
  return {
    name: "events",
    pipeline,
    relayed: () => eventRelay?.relayed ?? 0,
    async start() {
      await pipeline.start();
      await eventRelay?.start();
    },
    async close() {
      await eventRelay?.stop();
      await pipeline.close();
    },
  };
}
