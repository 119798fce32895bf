/**
 * A config applied without a restart (SIGHUP, `POST /api/v1/config/reload`): cameras removed or changed let
 * go through the parts' per-camera hooks, added or changed ones are made again and, where this instance
 * owns them, opened through the same hooks; users and credentials change in place. One reload at a time.
 */
import { ConfigError, loadConfigFile } from "../config/load.ts";
import {
  NoConfigFileError,
  planIsEmpty,
  planReload,
  type ReloadPlan,
  type ReloadSummary,
} from "../config/reload-plan.ts";
import type { CameraConfig, Config } from "../config/schema.ts";
import type { Access } from "./access.ts";
import type { Core } from "./core.ts";
import type { Events } from "./events.ts";
import type { Motion } from "./motion.ts";
import type { PartRunner } from "./part.ts";
import { startupProblems } from "./startup-problems.ts";

export interface Reloader {
  reload(next: Config): Promise<ReloadSummary>;
  fromFile(): Promise<ReloadSummary>;
}

function summaryOf(plan: ReloadPlan): ReloadSummary {
  const ids = (list: readonly CameraConfig[]) => list.map((camera) => camera.id);
  return {
    added: ids(plan.added),
    removed: plan.removed,
    reconfigured: ids(plan.reconfigured),
    renamed: ids(plan.renamed),
    credentials: ids(plan.credentials),
    retuned: ids(plan.retuned),
    usersChanged: plan.usersChanged,
    needsRestart: plan.needsRestart,
  };
}

export function makeReloader(parts: {
  core: Core;
  runner: PartRunner;
  access: Access;
  events: Events;
  motion: Motion;
}): Reloader {
  const { core, runner } = parts;
  const { config, cameras, logger } = core;
  const apply = async (next: Config): Promise<ReloadSummary> => {
    const refused = startupProblems(next);
    if (refused.length > 0) throw new ConfigError(refused);
    const plan = planReload(config, next);
    for (const id of [...plan.removed, ...plan.reconfigured.map((camera) => camera.id)]) {
      await runner.cameraReleased(id);
      await cameras.remove(id);
    }
    config.cameras.splice(0, config.cameras.length, ...next.cameras);
    config.users.splice(0, config.users.length, ...next.users);
    core.preload.clear();
    for (const camera of config.cameras) if (camera.preload) core.preload.add(camera.id);
    if (plan.usersChanged) parts.access.auth.setUsers(config.users);
    const failures: unknown[] = [];
    for (const camera of [...plan.reconfigured, ...plan.added]) {
      const entry = cameras.add(core.define(camera));
      // Clustered, the coordinator decides who owns an added camera; one this instance owns stays its own.
      if (!core.peers || core.cluster.coordinator?.owned.has(camera.id))
        failures.push(...(await runner.cameraOwned(entry)));
    }
    for (const camera of plan.credentials)
      cameras.get(camera.id)?.session.setCredentials(camera.username, camera.password);
    for (const camera of plan.retuned) {
      const entry = cameras.get(camera.id);
      if (entry && (!core.peers || core.cluster.coordinator?.owned.has(camera.id)))
        parts.motion.software.take(entry);
    }
    for (const camera of plan.renamed)
      cameras.relabel(camera.id, camera.name ?? camera.id, camera.groups ?? []);
    if (!planIsEmpty(plan)) parts.events.pipeline.deliveries.mqtt?.refresh();
    const summary = summaryOf(plan);
    logger.info(summary, "config reloaded");
    if (plan.needsRestart.length > 0)
      logger.warn(
        { paths: plan.needsRestart },
        "config reload: these changes apply at the next restart (the running values stay until then)",
      );
    // A camera's port that cannot open (in use) is the reload's error, as it is the start's: said to the
    // caller once the rest of the new config is in place.
    if (failures.length > 0) throw failures[0];
    return summary;
  };
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = (next: Config): Promise<ReloadSummary> => {
    const run = reloading.then(() => apply(next));
    reloading = run.catch(() => undefined);
    return run;
  };
  return {
    reload,
    fromFile: async () => {
      const file = core.options.configFile;
      if (!file) throw new NoConfigFileError();
      return reload(loadConfigFile(file));
    },
  };
}
