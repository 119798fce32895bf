/**
 * `camgate discover [-c FILE] [--json] [--timeout MS]`: the Dahua/Amcrest and ONVIF cameras on this host's
 * links (DHDiscover and WS-Discovery, no login), and which of them the config has already.
 */
import { existsSync } from "node:fs";
import { discoverCameras, type KnownCamera } from "../camera/discovery.ts";
import { loadConfigFile } from "../config/load.ts";

export async function runDiscover(
  flags: { config: string; json?: boolean; timeout?: string },
  out: NodeJS.WritableStream,
): Promise<void> {
  const timeoutMs = Number(flags.timeout ?? 3000);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 60_000)
    throw new Error("--timeout must be a whole number of milliseconds from 100 to 60000");
  // The config is read only to mark what camgate has already; without one, everything found is new.
  const known: KnownCamera[] = existsSync(flags.config)
    ? loadConfigFile(flags.config).cameras.map((camera) => {
        const url = new URL(camera.url);
        return {
          id: camera.id,
          host: url.hostname.replace(/^\[|\]$/g, ""),
          port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
        };
      })
    : [];
  const result = await discoverCameras({ timeoutMs, known });
  if (flags.json) {
    out.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  if (result.links.length === 0) out.write("no IPv4 network link to search from\n");
  for (const problem of result.problems) out.write(`note: ${problem}\n`);
  if (result.cameras.length === 0) {
    out.write(`no camera answered on ${result.links.join(", ") || "any link"} within ${timeoutMs} ms\n`);
    return;
  }
  for (const camera of result.cameras) {
    const what = [camera.vendor, camera.model].filter(Boolean).join(" ") || "a camera";
    const port = camera.httpPort && camera.httpPort !== 80 ? `:${camera.httpPort}` : "";
    const facts = [
      camera.serial && `serial ${camera.serial}`,
      camera.firmware && `firmware ${camera.firmware}`,
      camera.mac && `MAC ${camera.mac}`,
      camera.onvif && "ONVIF",
    ].filter(Boolean);
    const state = camera.known ? `configured as "${camera.known}"` : "new";
    out.write(`http://${camera.address}${port}  ${what}  (${facts.join(", ")})  ${state}\n`);
  }
}
