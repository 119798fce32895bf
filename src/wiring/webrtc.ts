/** WebRTC viewers (`server.webrtc.enabled`): candidates on the one address camgate listens on. */
import { isIPv4 } from "node:net";
import { networkInterfaces } from "node:os";
import { WebRtcSessions } from "../server/webrtc/sessions.ts";
import { errorText } from "../util/error-text.ts";
import type { Core } from "./core.ts";
import type { Part } from "./part.ts";

export interface WebRtc extends Part {
  sessions: WebRtcSessions | undefined;
}

/** Loopback stays loopback; every address (0.0.0.0) offers them all. */
function interfaceAddress(host: string): string | undefined {
  if (isIPv4(host) && host !== "0.0.0.0") return host;
  return host === "::1" || host === "localhost" ? "127.0.0.1" : undefined;
}

export function makeWebRtc({ core }: { core: Core }): WebRtc {
  const { webrtc } = core.config.server;
  const sessions = webrtc.enabled
    ? new WebRtcSessions(
        {
          iceServers: webrtc.iceServers,
          interfaceAddress: interfaceAddress(core.config.server.listen.host),
          announceAddresses: webrtc.announceAddresses,
          portRange: webrtc.portRange,
        },
        webrtc.maxSessions,
      )
    : undefined;
  return {
    name: "webrtc",
    sessions,
    start: () => {
      if (!sessions) return;
      // WebRTC's host candidates come from the host's interfaces; where they cannot be listed (a systemd unit
      // without AF_NETLINK in RestrictAddressFamilies) every answer would be sent and no viewer would play.
      try {
        networkInterfaces();
      } catch (error) {
        core.logger.error(
          { err: errorText(error) },
          "WebRTC: this host's network interfaces cannot be listed, so WebRTC viewers will not connect; under systemd, add AF_NETLINK to RestrictAddressFamilies (contrib/systemd/camgate.service)",
        );
      }
    },
    close: () => sessions?.closeAll(),
  };
}
