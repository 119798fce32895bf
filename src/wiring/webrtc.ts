/** WebRTC viewers (`server.webrtc.enabled`): candidates on the one address camgate listens on. */
import { isIPv4 } from "node:net";
import { WebRtcSessions } from "../server/webrtc/sessions.ts";
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
  return { name: "webrtc", sessions, close: () => sessions?.closeAll() };
}
