/**
 * How an instance reaches a camera it does not own: through the instance that does. Every instance keeps
 * every camera in its registry; a camera owned elsewhere has a route (camera/session.ts `SessionRoute`)
 * whose requests go to the owner's CGI passthrough (`/cam/<id>/...`) and whose streams come from the
 * owner's RTSP server (`/<id>`, `/<id>/sub`). The owner is the camera's only client, and its hubs serve
 * the other instances as they serve any viewer.
 *
 * The hop is authenticated without a secret on the wire: HTTP requests are signed URLs (the key every
 * instance shares, for the internal user `~cluster`, five minutes), RTSP uses Digest with a password
 * derived from that key. `~cluster` is no config user (config names cannot hold "~").
 */
import { createHmac } from "node:crypto";
import type { PeerRtsp, SessionRoute } from "../camera/session.ts";
import type { UrlSigner } from "../protocol/signed-url.ts";

export const CLUSTER_USER = "~cluster";
const SIGNED_FOR_SECONDS = 300;

/** The internal user's password (RTSP Digest between instances), from the shared signing key. */
export function clusterSecret(signingKey: Buffer): string {
  return createHmac("sha256", signingKey).update("camgate cluster peer").digest("base64url");
}

export interface InstanceAddress {
  http: string;
  rtsp: string | undefined;
}

export interface ClusterMap {
  /** camera → the instance holding its lease. */
  owners: ReadonlyMap<string, string>;
  /** instance → where the others reach it. */
  instances: ReadonlyMap<string, InstanceAddress>;
}

export class PeerDirectory {
  private map: ClusterMap = { owners: new Map(), instances: new Map() };
  private readonly routes = new Map<string, SessionRoute>();

  constructor(
    private readonly self: string,
    private readonly signer: UrlSigner,
    private readonly secret: string,
  ) {}

  /** A heartbeat's view; returns the cameras whose owner changed (what reaches them through it reconnects). */
  update(map: ClusterMap): string[] {
    const before = this.map;
    this.map = map;
    const address = (m: ClusterMap, camera: string) => {
      const owner = m.owners.get(camera);
      const at = owner === undefined ? undefined : m.instances.get(owner);
      return `${owner} ${at?.http} ${at?.rtsp}`;
    };
    const cameras = new Set([...before.owners.keys(), ...map.owners.keys()]);
    return [...cameras].filter((camera) => address(before, camera) !== address(map, camera));
  }

  /** The instance that owns the camera, as the last heartbeat saw it. */
  ownerOf(camera: string): string | undefined {
    return this.map.owners.get(camera);
  }

  /** Where the camera's owner is, unless that is this instance or nobody. */
  private owner(camera: string): InstanceAddress | undefined {
    const owner = this.map.owners.get(camera);
    return owner === undefined || owner === this.self ? undefined : this.map.instances.get(owner);
  }

  /** The route through the owner (one object per camera: a session compares it to tell a change). */
  route(camera: string): SessionRoute {
    let route = this.routes.get(camera);
    if (!route) {
      route = {
        origin: () => {
          const http = this.owner(camera)?.http;
          return http === undefined ? undefined : new URL(http).origin;
        },
        target: (method, target) =>
          this.signer.sign(
            method,
            `/cam/${encodeURIComponent(camera)}${target}`,
            CLUSTER_USER,
            Math.floor(Date.now() / 1000) + SIGNED_FOR_SECONDS,
          ),
        rtsp: (stream, cameraPath) => this.rtsp(camera, stream, cameraPath),
      };
      this.routes.set(camera, route);
    }
    return route;
  }

  private rtsp(camera: string, stream: string, cameraPath: string): PeerRtsp | undefined {
    const base = this.owner(camera)?.rtsp;
    if (base === undefined) return undefined;
    const url = new URL(base);
    const id = encodeURIComponent(camera);
    const path =
      stream === "main"
        ? `/${id}`
        : stream === "sub"
          ? `/${id}/sub`
          : cameraPath.startsWith("/cam/")
            ? `/${id}${cameraPath}`
            : undefined;
    if (path === undefined) return undefined;
    return {
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 554),
      path,
      username: CLUSTER_USER,
      password: this.secret,
    };
  }
}
