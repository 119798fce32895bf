/**
 * HLS viewers: one `HlsStream` per camera stream (fed by the stream's one fMP4 feed, so any number of HLS
 * viewers cost one muxing and no camera session of their own), and a session per player. A player that
 * cannot send a header or a cookie (Safari's native player, a TV, Chromecast) is given, by the first
 * playlist it was let in for (a session cookie, a token, a signed URL), a path with a session token in it;
 * the playlist's relative URIs carry that token to every part and segment. A session is held under its
 * user (a reload that takes the right away ends it), lives while its player keeps asking (30 s without a
 * request ends it), and a stream without sessions is let go.
 */
import { randomBytes } from "node:crypto";
import type { CameraEntry } from "../camera/registry.ts";
import { HlsStream } from "../relay/hls-stream.ts";
import type { StreamHub } from "../relay/stream-hub.ts";
import type { StreamHubs } from "../relay/stream-hubs.ts";
import type { Principal } from "./auth/authenticator.ts";
import type { StreamGrants } from "./auth/stream-grants.ts";

const IDLE_MS = 30_000;
const SWEEP_MS = 5_000;
/**
 * Sessions at once, in all and per user: a player opens one (a page reloaded a few times, a few); a wall of
 * TVs or a household sharing one user, some dozens.
 */
const MAX_SESSIONS = 500;
const MAX_SESSIONS_PER_USER = 64;

interface HlsSession {
  token: string;
  camera: string;
  principal: Principal;
  hub: StreamHub;
  lastSeen: number;
  release: () => void;
}

interface Muxed {
  stream: HlsStream;
  detach: () => void;
  sessions: number;
}

export class HlsService {
  private readonly sessions = new Map<string, HlsSession>();
  private readonly muxed = new Map<StreamHub, Muxed>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly streams: StreamHubs,
    private readonly grants: StreamGrants,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** A new session for `principal` on a stream of `entry`; undefined when the limits are reached. */
  open(principal: Principal, entry: CameraEntry, stream: "main" | "sub"): HlsSession | undefined {
    const mine = [...this.sessions.values()].filter((s) => s.principal.name === principal.name).length;
    if (this.sessions.size >= MAX_SESSIONS || mine >= MAX_SESSIONS_PER_USER) return undefined;
    const hub = this.streams.hub(entry, stream);
    let muxed = this.muxed.get(hub);
    if (!muxed) {
      const hls = new HlsStream();
      muxed = { stream: hls, detach: this.streams.fmp4.feed(hub).add(hls), sessions: 0 };
      this.muxed.set(hub, muxed);
    }
    muxed.sessions++;
    const token = randomBytes(18).toString("base64url");
    const session: HlsSession = {
      token,
      camera: entry.id,
      principal,
      hub,
      lastSeen: Date.now(),
      release: () => undefined,
    };
    session.release = this.grants.hold({
      principal,
      camera: entry.id,
      role: "viewer",
      end: () => this.end(token),
    });
    this.sessions.set(token, session);
    return session;
  }

  /** The session of `token` on `camera` (touched: it lives on), and its stream. */
  use(token: string, camera: string): { session: HlsSession; stream: HlsStream } | undefined {
    const session = this.sessions.get(token);
    if (!session || session.camera !== camera) return undefined;
    const muxed = this.muxed.get(session.hub);
    if (!muxed) return undefined;
    session.lastSeen = Date.now();
    return { session, stream: muxed.stream };
  }

  streamOf(session: HlsSession): HlsStream | undefined {
    return this.muxed.get(session.hub)?.stream;
  }

  end(token: string): void {
    const session = this.sessions.get(token);
    if (!session) return;
    this.sessions.delete(token);
    session.release();
    const muxed = this.muxed.get(session.hub);
    if (muxed && --muxed.sessions <= 0) {
      this.muxed.delete(session.hub);
      muxed.detach();
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const token of [...this.sessions.keys()]) this.end(token);
  }

  private sweep(): void {
    const limit = Date.now() - IDLE_MS;
    for (const session of [...this.sessions.values()]) if (session.lastSeen < limit) this.end(session.token);
  }
}
