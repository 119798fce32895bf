/** `camgate serve [-c FILE]`: the gateway from a config file, or the built-in demo without one. */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { startCamgate } from "../app.ts";
import { loadConfigFile } from "../config/load.ts";
import { startDemo } from "./demo.ts";

export async function runServe(
  flags: { config?: string },
  out: NodeJS.WritableStream,
): Promise<() => Promise<void>> {
  const file =
    flags.config ?? process.env.CAMGATE_CONFIG ?? (existsSync("camgate.yaml") ? "camgate.yaml" : undefined);
  if (file !== undefined) {
    const config = loadConfigFile(file);
    const camgate = await startCamgate(config, { baseDir: dirname(resolve(file)) });
    out.write(`camgate ${config.cameras.length} camera(s) on ${camgate.url}\n`);
    for (const [id, url] of Object.entries(camgate.passthroughUrls))
      out.write(`  ${id} passthrough on ${url}/cgi-bin/\n`);
    if (camgate.rtspUrl) out.write(`  RTSP on ${camgate.rtspUrl}/<camera> and /<camera>/sub\n`);
    for (const [id, url] of Object.entries(camgate.rtspPassthroughUrls))
      out.write(`  ${id} RTSP passthrough on ${url}/cam/realmonitor?channel=1&subtype=0\n`);
    return () => camgate.close();
  }
  const demo = await startDemo();
  try {
    const camgate = await startCamgate(demo.config);
    out.write(
      [
        "",
        `camgate demo: two emulated cameras behind the gateway on ${camgate.url}`,
        "",
        "Try:",
        `  curl ${camgate.url}/api/v1/cameras`,
        `  curl -o dogs.jpg ${camgate.url}/api/v1/cameras/dogs/snapshot.jpg`,
        `  curl '${camgate.url}/cam/dogs/cgi-bin/magicBox.cgi?action=getDeviceType'`,
        `  curl -X POST -H 'Content-Type: application/json' -d '{"action":"move","direction":"left","durationMs":500}' ${camgate.url}/api/v1/cameras/dogs/ptz`,
        `  open ${camgate.url}/api/v1/cameras/dogs/stream.mjpeg in a browser`,
        `  ffplay -rtsp_transport tcp ${camgate.rtspUrl}/dogs    (H.264 main stream; /dogs/sub, VLC works too)`,
        `  curl ${camgate.url}/api/v1/cameras/dogs/streams    (codec, size, rate, viewers)`,
        `  curl -N ${camgate.url}/api/v1/events/stream      (live events; motion every 30-45 s)`,
        `  mosquitto_sub -L ${camgate.events.deliveries.broker?.url ?? "mqtt://127.0.0.1:1883"}/camgate/#   (MQTT, embedded broker)`,
        `  API description: ${camgate.url}/api/v1/openapi.json`,
        "",
        "No users are configured, so it listens on loopback only. Ctrl-C stops it.",
        "",
      ].join("\n"),
    );
    return async () => {
      await camgate.close();
      await demo.close();
    };
  } catch (error) {
    await demo.close();
    throw error;
  }
}
