/**
 * The WebRTC viewers of the gateway (WHEP-style resources: POST makes one, DELETE ends it), bounded in
 * number: each costs SRTP work per packet (about 1 % of a core per 2 Mbit/s viewer, measured in
 * rtsp-h264.md), so `server.webrtc.maxSessions` caps them and the next one is a 503.
 */
import type { StreamHub } from "../../relay/stream-hub.ts";
import { type ViewerEnd, type WebRtcNetwork, WebRtcViewer } from "./webrtc-viewer.ts";

export interface WebRtcSessionInfo {
  viewer: WebRtcViewer;
  camera: string;
  principal: string;
}

/** Answers one principal may have waiting for their ICE at once (a page with a wall of cameras opens a few). */
const MAX_UNCONNECTED = 8;

export class WebRtcSessions {
  private readonly sessions = new Map<string, WebRtcSessionInfo>();
  ended: Record<ViewerEnd, number> = { closed: 0, failed: 0, "stream-gone": 0 };

  constructor(
    private readonly network: WebRtcNetwork,
    readonly maxSessions: number,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /**
   * A new viewer for `hub`, or why not: every session is taken, or this principal holds its share (half
   * of them, at least 4), or it has as many answers not yet connected as one page could want (offers that
   * never do ICE would otherwise hold every session until they time out, and renew).
   */
  create(
    hub: StreamHub,
    principal: string,
    /** Called once when the viewer ends, however it ends. */
    onEnded?: () => void,
  ): WebRtcViewer | "full" | "principal-full" | "unconnected" {
    if (this.sessions.size >= this.maxSessions) return "full";
    const own = [...this.sessions.values()].filter((session) => session.principal === principal);
    if (own.length >= Math.max(4, Math.floor(this.maxSessions / 2))) return "principal-full";
    if (own.filter((session) => session.viewer.connectionState !== "connected").length >= MAX_UNCONNECTED)
      return "unconnected";
    const viewer = new WebRtcViewer(hub, this.network, (ended, why) => {
      this.sessions.delete(ended.id);
      this.ended[why]++;
      onEnded?.();
    });
    this.sessions.set(viewer.id, { viewer, camera: hub.camera, principal });
    return viewer;
  }

  get(id: string): WebRtcSessionInfo | undefined {
    return this.sessions.get(id);
  }

  viewersOf(hub: StreamHub): number {
    let count = 0;
    for (const session of this.sessions.values()) if (session.viewer.stream === hub) count++;
    return count;
  }

  closeAll(): void {
    for (const session of [...this.sessions.values()]) session.viewer.close("closed");
  }
}
