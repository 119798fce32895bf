/**
 * Which cameras this instance owns. Alone, all of them; with several instances (storage.postgres), a camera
 * is reached through its owner until this instance owns it, and once-per-camera work (events, backups,
 * recording, a camera's own ports) runs only on the owner. Owning a camera routes it directly and adds it to
 * `owned`; letting it go does the reverse, after the later parts closed its ports.
 */
import { OwnedCameras } from "../camera/owned-cameras.ts";
import type { CameraSet } from "../camera/registry.ts";
import type { Core } from "./core.ts";
import type { Part, PartRunner } from "./part.ts";

export interface Ownership extends Part {
  /** The cameras this instance owns (all of them, alone). */
  owned: CameraSet;
}

export function makeOwnership({ core }: { core: Core }): Ownership {
  const { cameras, peers } = core;
  const ownedCameras = peers ? new OwnedCameras(cameras) : undefined;
  return {
    name: "ownership",
    owned: ownedCameras ?? cameras,
    async cameraOwned(entry) {
      if (!peers || !ownedCameras) return;
      await cameras.route(entry.id, undefined);
      ownedCameras.take(entry.id);
    },
    async cameraReleased(camera) {
      if (!peers || !ownedCameras) return;
      ownedCameras.give(camera);
      if (cameras.get(camera)) await cameras.route(camera, peers.route(camera));
    },
    close() {
      ownedCameras?.close();
    },
  };
}

/**
 * The cameras owned at start get their own work once every part runs (alone: all of them; in a cluster
 * none yet: the coordinator, after this, says which). A camera's port that cannot open at start refuses
 * the start, as any listener of the config does; later (a gain, a reload) it is logged and the rest goes on.
 */
export function openOwnedCameras({ ownership, runner }: { ownership: Ownership; runner: PartRunner }): Part {
  return {
    name: "owned cameras",
    async start() {
      for (const entry of ownership.owned.list()) {
        const [failure] = await runner.cameraOwned(entry);
        if (failure !== undefined) throw failure;
      }
    },
  };
}
