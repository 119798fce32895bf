/**
 * The ONVIF doors: one ONVIF device per camera (`cameras[].onvifPort`) while this instance owns it, and the
 * directed WS-Discovery answer once any camera has a face. A face's links use the host the client reached
 * it at when camgate listens on every address (and no publicUrl says otherwise): an NVR on the LAN gets a
 * LAN address, never 0.0.0.0.
 */
import { OnvifFaces } from "../server/onvif/onvif-faces.ts";
import type { Core } from "./core.ts";
import type { Http } from "./http.ts";
import { bindOrRefuse } from "./listen.ts";
import type { Part } from "./part.ts";
import { rtspLinkBase } from "./rtsp.ts";

export interface Onvif extends Part {
  faces: OnvifFaces;
}

const wildcard = (host: string) => host === "0.0.0.0" || host === "::";

export function makeOnvif({ core, http }: { core: Core; http: Http }): Onvif {
  const { config, addresses } = core;
  const { host } = config.server.listen;
  const publicUrl = config.server.publicUrl;
  const faces = new OnvifFaces(http.ctx, {
    host,
    announcedHost: wildcard(host) && publicUrl ? new URL(publicUrl).hostname.replace(/^\[|\]$/g, "") : host,
    streamUriSeconds: config.server.onvif.streamUriSeconds,
    discovery: { enabled: config.server.onvif.discovery, port: config.server.onvif.discoveryPort },
    rtspBase: (reached) => {
      const base = rtspLinkBase(core);
      const rtsp = config.server.rtsp;
      if (base === undefined || !rtsp || !addresses.rtsp) return undefined;
      if (!wildcard(rtsp.listen.host) || publicUrl) return base;
      return `${addresses.rtsp.scheme}://${reached}:${addresses.rtsp.port}`;
    },
    httpBase: (reached) =>
      wildcard(host) && !publicUrl
        ? `${core.https ? "https" : "http"}://${reached}:${new URL(addresses.url).port}`
        : http.ctx.publicUrl(),
  });
  const discoveryPort = config.server.onvif.discoveryPort;
  return {
    name: "onvif",
    faces,
    async cameraOwned(entry) {
      await faces.open(entry, (bind, what) => bindOrRefuse(bind, what, host, entry.onvifPort ?? 0));
      await faces.startDiscovery((bind, what) => bindOrRefuse(bind, what, host, discoveryPort));
    },
    cameraReleased: (camera) => faces.close(camera),
    close: () => faces.closeAll(),
  };
}
