/**
 * The ONVIF faces of all cameras with an `onvifPort`, their shared authenticator (one nonce memory) and
 * PullPoint subscriptions, and the WS-Discovery responder that announces them; opened and closed with the
 * cameras at start and at a reload.
 */
import type { CameraEntry } from "../../camera/registry.ts";
import { formatListen } from "../../config/listen.ts";
import type { GatewayContext } from "../context.ts";
import { OnvifAuthenticator } from "./onvif-auth.ts";
import { SERVICE_PATHS } from "./onvif-device.ts";
import { OnvifFace, type OnvifFaceOptions } from "./onvif-face.ts";
import { PullPoints } from "./pull-points.ts";
import { DiscoveryResponder, endpointOf } from "./ws-discovery.ts";

export interface OnvifFacesOptions
  extends Pick<OnvifFaceOptions, "rtspBase" | "httpBase" | "streamUriSeconds"> {
  /** The host every face listens on (server.listen's). */
  host: string;
  /** The host put in discovery answers (the listen host, or the public one behind a wildcard). */
  announcedHost: string;
  discovery: { enabled: boolean; port: number };
}

export class OnvifFaces {
  readonly pullPoints: PullPoints;
  private readonly auth: OnvifAuthenticator;
  private readonly faces = new Map<string, { face: OnvifFace; port: number; entry: CameraEntry }>();
  /** Camera id → `http://host:port/onvif/device_service` (the context's, so links can name it). */
  readonly urls: Record<string, string>;
  private discovery: DiscoveryResponder | undefined;
  discoveryPort: number | undefined;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly options: OnvifFacesOptions,
  ) {
    this.urls = ctx.reach.onvif;
    this.auth = new OnvifAuthenticator(ctx.auth);
    this.pullPoints = new PullPoints(ctx.events.bus);
  }

  /** Opens the camera's face, if it has an `onvifPort`; `listen` turns a bind failure into a startup error. */
  async open(
    entry: CameraEntry,
    listen: (bind: () => Promise<number>, what: string) => Promise<number>,
  ): Promise<void> {
    if (entry.onvifPort === undefined) return;
    const face = new OnvifFace(this.ctx, entry, {
      ...this.options,
      auth: this.auth,
      pullPoints: this.pullPoints,
    });
    const requested = entry.onvifPort;
    const port = await listen(
      () => face.listen(this.options.host, requested),
      `cameras.${entry.id}.onvifPort`,
    );
    this.faces.set(entry.id, { face, port, entry });
    this.urls[entry.id] = `http://${formatListen({ host: this.options.host, port })}${SERVICE_PATHS.device}`;
  }

  async close(camera: string): Promise<void> {
    const open = this.faces.get(camera);
    this.faces.delete(camera);
    delete this.urls[camera];
    this.pullPoints.dropCamera(camera);
    await open?.face.close();
  }

  /** Starts answering directed probes when at least one face is open (and discovery is on). */
  async startDiscovery(
    listen: (bind: () => Promise<number>, what: string) => Promise<number>,
  ): Promise<void> {
    if (this.discovery || !this.options.discovery.enabled || this.faces.size === 0) return;
    const responder = new DiscoveryResponder(
      () =>
        [...this.faces.values()].map(({ port, entry }) => ({
          endpoint: endpointOf(entry.id),
          xaddr: `http://${formatListen({ host: this.options.announcedHost, port })}${SERVICE_PATHS.device}`,
          scopes: [
            "onvif://www.onvif.org/type/video_encoder",
            "onvif://www.onvif.org/Profile/Streaming",
            `onvif://www.onvif.org/name/${encodeURIComponent(entry.name)}`,
          ],
        })),
      this.ctx.logger.child({ face: "ws-discovery" }),
    );
    this.discovery = responder;
    this.discoveryPort = await listen(
      () => responder.listen(this.options.host, this.options.discovery.port),
      "server.onvif.discoveryPort",
    );
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.faces.keys()].map((camera) => this.close(camera)));
    await this.discovery?.close();
    this.pullPoints.close();
  }
}
