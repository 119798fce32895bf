/**
 * camgate's RTSP server (`server.rtsp`): `rtsp://<listen>/<camera>` for every camera, and a camera's own
 * port (`rtspPassthroughPort`, its existing `/cam/realmonitor?...` URLs) while this instance owns it.
 */
import type { Logger } from "pino";
import { formatListen } from "../config/listen.ts";
import type { Config } from "../config/schema.ts";
import { effectiveRtspAuthMethods } from "../config/validate.ts";
import { RtspAuthenticator } from "../server/rtsp/rtsp-auth.ts";
import { CamgateRtspServer } from "../server/rtsp/rtsp-server.ts";
import type { Access } from "./access.ts";
import type { Core } from "./core.ts";
import { bindOrRefuse } from "./listen.ts";
import type { Part } from "./part.ts";
import type { Relay } from "./relay.ts";

export interface Rtsp extends Part {
  /** camgate's RTSP server, when `server.rtsp` is set. */
  server: CamgateRtspServer | undefined;
  /**
   * The same sessions, listening or not: the camera web UI's RTSP over WebSocket (on the passthrough port)
   * is served by them even when `server.rtsp` is off.
   */
  sessions: CamgateRtspServer;
  /** Camera id → the RTSP URL of its own port. */
  passthroughUrls: Record<string, string>;
}

/** The RTSP methods in force; Basic left out in clear text across a network is said once, at start. */
function rtspAuthMethods(config: Config, logger: Logger): ("basic" | "digest")[] {
  const methods = effectiveRtspAuthMethods(config);
  if (config.server.rtsp?.authMethods.includes("basic") && !methods.includes("basic"))
    logger.warn(
      { listen: formatListen(config.server.rtsp.listen) },
      "RTSP Basic authentication is off: this listener is not loopback and has no TLS (Digest stays on)",
    );
  return methods;
}

/**
 * The RTSP base URL to hand out: the listen address, or the public host when it listens on every address
 * (read when a link is made, so it follows the main server's address once that listens).
 */
export function rtspLinkBase(core: Core): string | undefined {
  const rtsp = core.addresses.rtsp;
  if (!rtsp || !core.config.server.rtsp) return undefined;
  const host = core.config.server.rtsp.listen.host;
  const wildcard = host === "0.0.0.0" || host === "::";
  const publicUrl = core.config.server.publicUrl ?? core.addresses.url;
  const shown = wildcard && publicUrl ? new URL(publicUrl).hostname.replace(/^\[|\]$/g, "") : host;
  return `${rtsp.scheme}://${formatListen({ host: shown, port: rtsp.port })}`;
}

export function makeRtsp({ core, access, relay }: { core: Core; access: Access; relay: Relay }): Rtsp {
  const { config, https, logger } = core;
  const rtsp = config.server.rtsp;
  const scheme = rtsp?.tls && https ? "rtsps" : "rtsp";
  // Without `server.rtsp` nothing listens, and the camera UI's player (Digest only) is all that uses it.
  const sessions = new CamgateRtspServer({
    cameras: core.cameras,
    hubs: relay.streams,
    auth: new RtspAuthenticator(access.auth, rtsp ? rtspAuthMethods(config, logger) : ["digest"]),
    logger,
    tls: rtsp?.tls && https ? { cert: https.cert, key: https.key } : undefined,
    viewerBacklogBytes: rtsp?.viewerBacklogBytes,
    maxConnectionsPerAddress: rtsp?.maxConnectionsPerAddress,
  });
  const server = rtsp ? sessions : undefined;
  const passthroughUrls: Record<string, string> = {};
  return {
    name: "rtsp",
    server,
    sessions,
    passthroughUrls,
    async start() {
      if (!server || !rtsp) return;
      const { host, port } = rtsp.listen;
      const bound = await bindOrRefuse(() => server.listen(host, port), "server.rtsp.listen", host, port);
      core.addresses.rtsp = {
        url: `${scheme}://${formatListen({ host, port: bound })}`,
        scheme,
        port: bound,
      };
    },
    async cameraOwned(entry) {
      if (!server || !rtsp || entry.rtspPassthroughPort === undefined) return;
      const port = entry.rtspPassthroughPort;
      const host = rtsp.listen.host;
      const what = `cameras.${entry.id}.rtspPassthroughPort`;
      const bound = await bindOrRefuse(() => server.listen(host, port, entry), what, host, port);
      passthroughUrls[entry.id] = `${scheme}://${formatListen({ host, port: bound })}`;
    },
    async cameraReleased(camera) {
      await server?.stopListening(camera);
      delete passthroughUrls[camera];
    },
    close: () => sessions.close(),
  };
}
