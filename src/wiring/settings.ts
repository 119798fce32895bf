/**
 * camgate's own settings from the UI and the API (docs/configuration.md, "From the UI"): the config file's
 * writer (none for the demo, which has no file), the reload that applies what was written, a look at a
 * camera before it is added (one login under the no-lockout rules, its refusals remembered in camgate's
 * database as the gateway's own are), and discovery on the LAN.
 */
import { probeConfiguredCamera } from "../camera/camera-probe.ts";
import { type DiscoveryResult, discoverCameras } from "../camera/discovery.ts";
import { ConfigFileWriter } from "../config/config-file-writer.ts";
import type { GatewaySettings } from "../server/context.ts";
import { authFailureMemory } from "../storage/auth-failures.ts";
import type { Core } from "./core.ts";
import type { Reloader } from "./reload.ts";

export function makeSettings({ core, reloader }: { core: Core; reloader: Reloader }): GatewaySettings {
  const file = core.options.configFile;
  let searching: Promise<DiscoveryResult> | undefined;
  return {
    current: () => core.config,
    writer: file ? new ConfigFileWriter(file) : undefined,
    apply: (next) => reloader.reload(next),
    probe: (camera) =>
      probeConfiguredCamera(camera, {
        authMemory: authFailureMemory(core.db, camera.id, new URL(camera.url).origin),
      }),
    discover() {
      searching ??= discoverCameras({
        known: core.cameras.list().map((entry) => {
          const url = new URL(entry.session.origin);
          return {
            id: entry.id,
            host: url.hostname.replace(/^\[|\]$/g, ""),
            port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
          };
        }),
      }).finally(() => {
        searching = undefined;
      });
      return searching;
    },
  };
}
