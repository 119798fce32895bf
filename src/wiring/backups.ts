/** Config in git (backups with diffs, provisioning), camera log sync and syslog forwarding, per owned camera. */
import { BackupModule } from "../backup/backup-module.ts";
import type { Core } from "./core.ts";
import type { Events } from "./events.ts";
import type { Ownership } from "./ownership.ts";
import type { Part } from "./part.ts";

export interface Backups extends Part {
  module: BackupModule;
}

export function makeBackups({
  core,
  ownership,
  events,
}: {
  core: Core;
  ownership: Ownership;
  events: Events;
}): Backups {
  const { config, db, sql, instance, storageDir, logger } = core;
  const pipeline = events.pipeline;
  const module = new BackupModule({
    config,
    cameras: ownership.owned,
    db,
    sql,
    ...(instance ? { instance } : {}),
    storageDir,
    logger,
    onConfigChanged: (result) =>
      void pipeline.publisher.gatewayEvent(result.camera, "ConfigChanged", {
        commit: result.commit ?? null,
        sections: result.sections,
        paths: result.changes.slice(0, 200).map((change) => change.path),
        changes: result.changes.length,
      }),
    subscribeEvents: (listener) => pipeline.bus.subscribe(listener),
  });
  return {
    name: "backups",
    module,
    start: () => module.start(),
    close: () => module.close(),
  };
}
