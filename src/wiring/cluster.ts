/**
 * This instance's part in a cluster (`storage.postgres`): the coordinator holds leases on cameras and says
 * when this instance gains or loses one, which opens or closes the camera's own work through every part's
 * per-camera hooks. It starts last (everything a gained camera needs runs) and closes first, handing the
 * cameras over while the rest shuts down.
 */
import { hostname } from "node:os";
import { ClusterCoordinator } from "../cluster/coordinator.ts";
import { errorText } from "../util/error-text.ts";
import type { Core } from "./core.ts";
import type { Events } from "./events.ts";
import type { Part, PartRunner } from "./part.ts";

/** A bound URL as another machine can use it: a wildcard address becomes this machine's name. */
function reachableUrl(bound: string): string {
  const url = new URL(bound);
  if (url.hostname === "0.0.0.0" || url.hostname === "[::]") url.hostname = hostname();
  return url.toString().replace(/\/$/, "");
}

export function makeCluster({
  core,
  events,
  runner,
}: {
  core: Core;
  events: Events;
  runner: PartRunner;
}): Part {
  const { config, cameras, logger, instance, pgStore, peers, addresses } = core;
  const clusterConfig = config.storage.postgres;
  if (peers)
    core.metrics.watchCluster({
      cameras,
      coordinator: () => core.cluster.coordinator,
      relayed: events.relayed,
    });
  const advertise = () => {
    const rtsp = addresses.rtsp;
    return {
      http: clusterConfig?.advertiseUrl ?? reachableUrl(addresses.url),
      rtsp:
        clusterConfig?.advertiseRtspUrl ??
        (rtsp !== undefined && rtsp.scheme === "rtsp" ? reachableUrl(rtsp.url) : undefined),
    };
  };
  return {
    name: "cluster",
    async start() {
      if (!pgStore || !clusterConfig || !instance) return;
      const coordinator = new ClusterCoordinator({
        pool: pgStore.pool,
        instance,
        ttlMs: clusterConfig.leaseSeconds * 1000,
        cameras: () => config.cameras.map((camera) => camera.id),
        onGained: async (id) => {
          const entry = cameras.get(id);
          if (!entry) return;
          logger.info({ camera: id, instance }, "cluster: this instance owns the camera now");
          await runner.cameraOwned(entry);
        },
        onLost: async (id, reason) => {
          logger.info({ camera: id, instance, reason }, "cluster: this instance no longer owns the camera");
          await runner.cameraReleased(id);
        },
        advertise: advertise(),
        onMap: (map) => {
          for (const id of peers?.update(map) ?? [])
            if (cameras.get(id)?.session.route) cameras.reconnect(id);
        },
        onError: (error) => logger.warn({ instance, err: errorText(error) }, "cluster: heartbeat failed"),
      });
      core.cluster.coordinator = coordinator;
      await coordinator.start();
    },
    close: () => core.cluster.coordinator?.stop(),
  };
}
