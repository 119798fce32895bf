/**
 * `camgate serve [-c FILE]`: the gateway from a config file, or the built-in demo without one. On a terminal
 * it prints a banner and readable log lines; otherwise (systemd, Docker, a pipe) stdout carries JSON log
 * lines only, the banner included as one record with the URLs as fields.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Logger } from "pino";
import { type Camgate, createLogger, startCamgate } from "../app.ts";
import { ConfigError, loadConfigFile } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { prettyStream } from "./pretty-log.ts";

export interface Serving {
  stop(): Promise<void>;
  /** Re-reads the config file (SIGHUP); a refused file is logged and the running config stays. */
  reload(): Promise<void>;
}

function loggerFor(
  config: Config,
  out: NodeJS.WritableStream & { isTTY?: boolean },
): {
  logger: Logger;
  pretty: boolean;
} {
  const pretty = config.log.format === "pretty" || (config.log.format === "auto" && out.isTTY === true);
  return { logger: createLogger(config.log.level, pretty ? prettyStream(out) : out), pretty };
}

/**
 * The logger the ready record goes through: at info even when `log.level` is warn or error (what a service
 * manager and scripts wait for, said once), and not at all when it is silent.
 */
function readyLog(logger: Logger, config: Config): Logger {
  return config.log.level === "silent" ? logger : logger.child({}, { level: "info" });
}

function links(camgate: Camgate): Record<string, unknown> {
  return {
    url: camgate.url,
    webUi: `${camgate.url}/`,
    ...(camgate.rtspUrl ? { rtsp: camgate.rtspUrl } : {}),
    ...(Object.keys(camgate.passthroughUrls).length > 0 ? { passthrough: camgate.passthroughUrls } : {}),
    ...(Object.keys(camgate.rtspPassthroughUrls).length > 0
      ? { rtspPassthrough: camgate.rtspPassthroughUrls }
      : {}),
  };
}

export async function runServe(
  flags: { config?: string },
  out: NodeJS.WritableStream & { isTTY?: boolean },
): Promise<Serving> {
  const file =
    flags.config ?? process.env.CAMGATE_CONFIG ?? (existsSync("camgate.yaml") ? "camgate.yaml" : undefined);
  if (file !== undefined) {
    const config = loadConfigFile(file);
    const { logger, pretty } = loggerFor(config, out);
    const camgate = await startCamgate(config, {
      baseDir: dirname(resolve(file)),
      logger,
      configFile: file,
    });
    const ready = `camgate ${config.cameras.length} camera(s) on ${camgate.url}: open ${camgate.url}/ in a browser for the web UI`;
    if (pretty) {
      out.write(`${ready}\n`);
      for (const [id, url] of Object.entries(camgate.passthroughUrls))
        out.write(`  ${id} passthrough on ${url}/cgi-bin/\n`);
      if (camgate.rtspUrl) out.write(`  RTSP on ${camgate.rtspUrl}/<camera> and /<camera>/sub\n`);
      for (const [id, url] of Object.entries(camgate.rtspPassthroughUrls))
        out.write(`  ${id} RTSP passthrough on ${url}/cam/realmonitor?channel=1&subtype=0\n`);
    } else readyLog(logger, config).info({ ...links(camgate), cameras: config.cameras.length }, ready);
    return {
      stop: () => camgate.close(),
      reload: async () => {
        try {
          await camgate.reloadFromFile();
        } catch (error) {
          const problems = error instanceof ConfigError ? error.problems : [String(error)];
          logger.error({ problems }, "config reload refused; the running config stays");
        }
      },
    };
  }
  // The demo's emulated cameras (and what draws their video) load only for the demo.
  const { startDemo } = await import("./demo.ts");
  const demo = await startDemo();
  try {
    const { logger, pretty } = loggerFor(demo.config, out);
    const camgate = await startCamgate(demo.config, { logger });
    const url = camgate.url;
    const tryLines = [
      `open ${url}/ in a browser (the web UI: live video, PTZ, events)`,
      `curl ${url}/api/v1/cameras`,
      `curl -o dogs.jpg ${url}/api/v1/cameras/dogs/snapshot.jpg`,
      `curl '${url}/cam/dogs/cgi-bin/magicBox.cgi?action=getDeviceType'`,
      `curl -X POST -H 'Content-Type: application/json' -d '{"action":"move","direction":"left","durationMs":500}' ${url}/api/v1/cameras/dogs/ptz`,
      `ffplay -rtsp_transport tcp ${camgate.rtspUrl}/dogs    (H.264 main stream; /dogs/sub, VLC works too)`,
      `curl ${url}/api/v1/cameras/dogs/streams    (codec, size, rate, viewers)`,
      `curl -N ${url}/api/v1/events/stream      (live events; motion every 30-45 s)`,
      `mosquitto_sub -L ${camgate.events.deliveries.broker?.url ?? "mqtt://127.0.0.1:1883"}/camgate/#   (MQTT, embedded broker)`,
      `API description: ${url}/api/v1/openapi.json`,
    ];
    const headline = `camgate demo: two emulated cameras behind the gateway on ${url}`;
    if (pretty)
      out.write(
        [
          "",
          headline,
          "",
          `Open ${url}/ in a browser.`,
          "",
          "Try:",
          ...tryLines.slice(1).map((line) => `  ${line}`),
          "",
          "No users are configured, so it listens on loopback only. Ctrl-C stops it.",
          "",
        ].join("\n"),
      );
    else readyLog(logger, demo.config).info({ ...links(camgate), try: tryLines }, headline);
    return {
      stop: async () => {
        await camgate.close();
        await demo.close();
      },
      reload: async () => {
        logger.warn("SIGHUP: the demo has no config file to reload");
      },
    };
  } catch (error) {
    await demo.close();
    throw error;
  }
}
