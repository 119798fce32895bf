/**
 * camgate's own motion detection (events/software-motion.ts): per owned camera with `cameras[].motion`, on
 * the relay's streams, publishing through the event pipeline. It starts after the pipeline and closes
 * before it, so an episode going on at shutdown is stored as ended.
 */
import { SoftwareMotion } from "../events/software-motion.ts";
import type { Core } from "./core.ts";
import type { Events } from "./events.ts";
import type { Part } from "./part.ts";
import type { Relay } from "./relay.ts";

export interface Motion extends Part {
  software: SoftwareMotion;
}

export function makeMotion({ core, relay, events }: { core: Core; relay: Relay; events: Events }): Motion {
  const { config, logger } = core;
  const pipeline = events.pipeline;
  const software = new SoftwareMotion({
    cameraConfig: (camera) => config.cameras.find((c) => c.id === camera),
    hubs: relay.hubs,
    snapshots: relay.snapshots,
    publisher: pipeline.publisher,
    bus: pipeline.bus,
    logger,
  });
  return {
    name: "motion",
    software,
    start() {
      // A motion incident of a camera camgate watches starts unconfirmed.
      pipeline.store.judgeMotionWith((camera) => software.watches(camera));
      software.start();
    },
    close: () => software.close(),
    cameraOwned: (entry) => software.take(entry),
    cameraReleased: (camera) => software.release(camera),
  };
}
