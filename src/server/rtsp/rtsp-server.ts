/**
 * camgate's RTSP server: `rtsp://gateway:8554/<camera>` (main stream) and `/<camera>/sub`, the camera's own
 * `/<camera>/cam/realmonitor?channel=N&subtype=M`, and on a camera's `rtspPassthroughPort` its plain
 * `/cam/realmonitor?...`, so existing URLs work by changing only the host. TCP interleaved only: SETUP over
 * UDP is answered 461 so clients fall back (go2rtc does the same). Auth is camgate's own (`rtsp-auth.ts`),
 * with the roles and camera visibility of HTTP. Every viewer of a stream shares its one upstream session and
 * its serialised RTP (`rtp-output.ts`); a viewer that cannot keep up skips to the next keyframe and never
 * delays the others.
 */
import { randomBytes, randomInt } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { Logger } from "pino";
import type { CameraEntry, CameraRegistry } from "../../camera/registry.ts";
import { CLUSTER_USER } from "../../cluster/peer-directory.ts";
import {
  formatResponse,
  parseCSeq,
  parseTransport,
  RtspError,
  RtspReader,
  type RtspRequest,
} from "../../protocol/rtsp.ts";
import type { StreamHub, StreamTracks } from "../../relay/stream-hub.ts";
import type { StreamHubs } from "../../relay/stream-hubs.ts";
import { errorText } from "../../util/error-text.ts";
import { canSeeCamera, type Principal } from "../auth/authenticator.ts";
import { roleAllows } from "../auth/roles.ts";
import { RtpOutput, type RtpViewer } from "./rtp-output.ts";
import type { RtspAuthenticator, RtspAuthResult } from "./rtsp-auth.ts";
import { describeStream } from "./sdp-for-stream.ts";

export interface RtspServerOptions {
  cameras: CameraRegistry;
  hubs: StreamHubs;
  auth: RtspAuthenticator;
  logger: Logger;
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Waiting this long for a stream's first picture before DESCRIBE gives up (default 8 s). */
  describeTimeoutMs?: number;
  /** Unsent bytes past which a viewer skips to the next keyframe (default 4 MiB); it resumes below 1/8 of it. */
  viewerBacklogBytes?: number;
  /** Connections open at once from one address (default 64). */
  maxConnectionsPerAddress?: number;
}

export interface RtspServerStats {
  connections: number;
  /** Requests answered. */
  requests: number;
  sessions: number;
  refused: number;
  /** Access units not written to a viewer that had fallen behind (it resumed at a keyframe). */
  skipped: number;
  /** Times a client's requests were no longer read because its answers backed up. */
  readingPaused: number;
  /** Clients dropped because they did not read their answers. */
  droppedUnread: number;
}

/** A viewer past this much unsent data skips until the next keyframe (and below an eighth of it again). */
const DEFAULT_BACKLOG_BYTES = 4 * 1024 * 1024;
const SESSION_TIMEOUT_SECONDS = 60;
/** A client's requests are answered in order; one that sends more than this without reading is dropped. */
const MAX_PENDING_REQUESTS = 32;
/** Unsent answers past which a client's requests are no longer read, and past which it is dropped. */
const ANSWER_BACKLOG_PAUSE_BYTES = 256 * 1024;
const ANSWER_BACKLOG_DROP_BYTES = 1024 * 1024;
/** RTSP sessions on one connection (a client sets up one or two; more is a client gone wrong). */
const MAX_SESSIONS_PER_CONNECTION = 8;
/** Bytes skipped as neither request nor frame: before the first request, and in all. */
const MAX_LEADING_NOISE_BYTES = 16;
const MAX_NOISE_BYTES = 4096;
/** A connection that sends no request this long after connecting is closed. */
const FIRST_REQUEST_TIMEOUT_MS = 10_000;
/** A request begun must be complete this long after its first bytes came. */
const PARTIAL_REQUEST_TIMEOUT_MS = 5_000;
/** Connections open at once: from one address (unless configured), and in all. */
const MAX_CONNECTIONS_PER_ADDRESS = 64;
const MAX_CONNECTIONS = 1024;
/** How often idle, silent and trickling connections are looked for. */
const SWEEP_INTERVAL_MS = 1000;
const PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

interface Session {
  id: string;
  hub: StreamHub;
  /** Lets go of the session's grant (it is held under the principal that set it up). */
  release: () => void;
  output: RtpOutput;
  video: boolean;
  audio: boolean;
  viewer: RtpViewer | undefined;
  /** Units this viewer missed by falling behind. */
  skipped: number;
}

export interface RtspViewerInfo {
  camera: string;
  stream: string;
  user: string | undefined;
  /** How the viewer authenticated. */
  via: string | undefined;
  address: string | undefined;
  /** Bytes written to the viewer's socket and not yet taken by the client. */
  backlogBytes: number;
  skipped: number;
  playing: boolean;
}

/**
 * What a client's connection is: a TCP socket, or a WebSocket carrying RTSP (the camera web UI's player,
 * `server/camera-ui/websocket-rtsp-transport.ts`).
 */
export interface RtspTransport {
  readonly remoteAddress?: string | undefined;
  readonly localAddress?: string | undefined;
  /** Bytes written and not yet taken by the client. */
  readonly writableLength: number;
  readonly destroyed: boolean;
  write(bytes: Buffer): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  isPaused(): boolean;
  setNoDelay(noDelay?: boolean): unknown;
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "error" | "close" | "drain", listener: () => void): unknown;
  once(event: "close", listener: () => void): unknown;
}

/** How a connection is judged: every request (RTSP's way), or once for the connection. */
export interface ConnectionAuth {
  /**
   * The connection is authenticated once, by whoever opened it (`principal`, from camgate's front door) or
   * by its first request's credentials, and every later request is judged as that principal. Dahua's web
   * player needs it: it computes its Digest answer once, for the first method challenged, and sends that
   * same header with every later request (TeamDotworld/dahua-rtsp-web, src/WebSocketServer.js); the camera
   * accepts it, so per-request Digest would never let it play.
   */
  once: true;
  principal?: Principal | undefined;
}

class Connection {
  readonly nonce: string;
  readonly sessions = new Map<string, Session>();
  principal: Principal | undefined;
  lastSeen = Date.now();
  /** Requests are handled one after another, in the order they came. */
  queue: Promise<void> = Promise.resolve();
  pending = 0;
  requests = 0;
  /** Reading stopped because answers backed up (resumed on drain). */
  readingPaused = false;
  /** Since when part of a request (or frame) has waited for the rest of it. */
  partialSince: number | undefined;
  readonly openedAt = Date.now();

  constructor(
    readonly socket: RtspTransport,
    readonly authOnce: boolean,
  ) {
    this.nonce = randomBytes(16).toString("hex");
  }
}

const NOT_OWNER = "not the camera's owner";

export class CamgateRtspServer {
  private readonly servers: Server[] = [];
  /** A camera's own port (`rtspPassthroughPort`) and the connections it accepted. */
  private readonly ownPorts = new Map<string, { server: Server; connections: Set<Connection> }>();
  private readonly connections = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  /** Weak: a hub let go (a channel nobody watches, a removed camera) takes its output with it. */
  private readonly outputs = new WeakMap<StreamHub, RtpOutput>();
  readonly stats: RtspServerStats = {
    connections: 0,
    requests: 0,
    sessions: 0,
    refused: 0,
    skipped: 0,
    readingPaused: 0,
    droppedUnread: 0,
  };
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RtspServerOptions) {}

  /** Listens for every camera (`camera` undefined) or for one camera's own port. */
  async listen(host: string, port: number, camera?: CameraEntry): Promise<number> {
    const own = camera ? { connections: new Set<Connection>() } : undefined;
    const accept = (socket: Socket) => {
      const connection = this.accept(socket, camera);
      if (own && connection) {
        own.connections.add(connection);
        socket.once("close", () => own.connections.delete(connection));
      }
    };
    const server = this.options.tls ? createTlsServer(this.options.tls, accept) : createServer(accept);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.servers.push(server);
    if (camera && own) this.ownPorts.set(camera.id, { server, connections: own.connections });
    this.sweep();
    return (server.address() as { port: number }).port;
  }

  /** Idle, silent and trickling connections are looked for once there can be any. */
  private sweep(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.expire(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Closes a camera's own port and its clients (the camera moved to another instance, or was removed). */
  async stopListening(camera: string): Promise<void> {
    const own = this.ownPorts.get(camera);
    if (!own) return;
    this.ownPorts.delete(camera);
    this.servers.splice(this.servers.indexOf(own.server), 1);
    for (const connection of own.connections) this.drop(connection);
    await new Promise<void>((resolve) => own.server.close(() => resolve()));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const connection of this.connections) this.drop(connection);
    await Promise.all(
      this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }

  /** Every RTSP session, with what it is waiting to send (for stream info and the tests' eyes). */
  viewers(): RtspViewerInfo[] {
    const out: RtspViewerInfo[] = [];
    for (const connection of this.connections)
      for (const session of connection.sessions.values())
        out.push({
          camera: session.hub.camera,
          stream: session.hub.name,
          user: connection.principal?.name,
          via: connection.principal?.via,
          address: connection.socket.remoteAddress,
          backlogBytes: connection.socket.writableLength,
          skipped: session.skipped,
          playing: session.viewer !== undefined,
        });
    return out;
  }

  /** Bytes written to every client and not yet taken (what the server holds for clients that read slowly). */
  unsentBytes(): number {
    let sum = 0;
    for (const connection of this.connections) sum += connection.socket.writableLength;
    return sum;
  }

  /** How many viewers watch, per stream (for stream info). */
  viewersOf(hub: StreamHub): number {
    return this.outputs.get(hub)?.viewerCount ?? 0;
  }

  /**
   * A connection that came another way than this server's ports (RTSP over a WebSocket on a camera's
   * passthrough port), for one camera, judged once (`ConnectionAuth`). Limits per address apply as on TCP.
   */
  acceptTransport(transport: RtspTransport, camera: CameraEntry, auth: ConnectionAuth): boolean {
    if (this.closed) {
      transport.destroy();
      return false;
    }
    const connection = this.accept(transport, camera, auth);
    if (connection && auth.principal) connection.principal = auth.principal;
    this.sweep();
    return connection !== undefined;
  }

  private accept(
    socket: RtspTransport,
    camera: CameraEntry | undefined,
    auth?: ConnectionAuth,
  ): Connection | undefined {
    // One address may not take every connection: an NVR opens one or two per stream it records.
    const address = socket.remoteAddress ?? "unknown";
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (
      fromAddress >= (this.options.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS) ||
      this.connections.size >= MAX_CONNECTIONS
    ) {
      this.options.logger.info({ address }, "RTSP connection refused: too many open");
      socket.destroy();
      return undefined;
    }
    this.perAddress.set(address, fromAddress + 1);
    socket.once("close", () => {
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
    this.stats.connections++;
    socket.setNoDelay(true);
    const connection = new Connection(socket, auth?.once === true);
    this.connections.add(connection);
    const reader = new RtspReader({ maxBodyBytes: 64 * 1024 });
    socket.on("data", (chunk: Buffer) => {
      // Whatever one client's bytes make go wrong ends that client's connection, never the process.
      try {
        this.receive(connection, reader, chunk, camera);
      } catch (error) {
        this.options.logger.warn(
          { address: socket.remoteAddress, err: errorText(error) },
          "RTSP connection failed; closed",
        );
        this.drop(connection);
      }
    });
    socket.on("error", () => this.drop(connection));
    socket.on("close", () => this.drop(connection));
    // Reading stopped while answers backed up goes on once the client has taken them.
    socket.on("drain", () => this.resumeReading(connection));
    return connection;
  }

  private receive(
    connection: Connection,
    reader: RtspReader,
    chunk: Buffer,
    camera: CameraEntry | undefined,
  ): void {
    const socket = connection.socket;
    connection.lastSeen = Date.now();
    let items: ReturnType<RtspReader["push"]>;
    try {
      items = reader.push(chunk);
    } catch (error) {
      if (!(error instanceof RtspError)) throw error;
      this.options.logger.info(
        { address: socket.remoteAddress, err: error.message },
        "RTSP client sent what RTSP is not",
      );
      this.drop(connection);
      return;
    }
    // A request trickled in (a header line every few seconds) must still arrive whole within seconds.
    if (reader.buffered === 0) connection.partialSince = undefined;
    else connection.partialSince ??= connection.lastSeen;
    // Bytes that are neither requests nor frames: a few between requests are tolerated, noise first (an
    // HTTP client on the RTSP port, a port scanner) or much of it is not an RTSP client.
    const noise = reader.skipped;
    if (noise > MAX_NOISE_BYTES || (noise > MAX_LEADING_NOISE_BYTES && connection.requests === 0)) {
      this.options.logger.info(
        { address: socket.remoteAddress, bytes: noise },
        "RTSP client sent what RTSP is not",
      );
      this.drop(connection);
      return;
    }
    for (const item of items) {
      if (connection.socket.destroyed) return;
      if (item.kind === "request") {
        connection.requests++;
        this.enqueue(connection, item, camera);
      } else if (item.kind === "data" && connection.sessions.size === 0) {
        // Interleaved data is RTCP (receiver reports) on a set-up session; without one it is garbage.
        this.options.logger.info(
          { address: socket.remoteAddress },
          "RTSP client sent interleaved data without a session",
        );
        this.drop(connection);
        return;
      }
    }
  }

  private enqueue(connection: Connection, request: RtspRequest, camera: CameraEntry | undefined): void {
    if (++connection.pending > MAX_PENDING_REQUESTS) {
      this.options.logger.info(
        { address: connection.socket.remoteAddress },
        "RTSP client sent requests faster than it read the answers",
      );
      this.drop(connection);
      return;
    }
    connection.queue = connection.queue
      .then(() => this.handle(connection, request, camera))
      .catch((error: unknown) => {
        // A camera that cannot answer (its channel count, say) is this request's 503, not a crash.
        this.options.logger.warn({ err: errorText(error), method: request.method }, "RTSP request failed");
        this.reply(connection, request, 503, "Service Unavailable");
      })
      .finally(() => {
        this.stats.requests++;
        connection.pending--;
      });
  }

  /**
   * Answers back up when a client sends requests and does not read: reading stops past a bound (the client
   * then waits on TCP), and a connection whose unsent bytes pass a larger one is dropped. Media a viewer
   * has not taken stays under `viewerBacklogBytes` (it skips to a keyframe), so the bounds sit above it.
   */
  private checkBacklog(connection: Connection): void {
    const socket = connection.socket;
    const media =
      connection.sessions.size > 0 ? (this.options.viewerBacklogBytes ?? DEFAULT_BACKLOG_BYTES) : 0;
    const backlog = socket.writableLength;
    if (backlog > media + ANSWER_BACKLOG_DROP_BYTES) {
      this.options.logger.info(
        { address: socket.remoteAddress, bytes: backlog },
        "RTSP client does not read its answers; closed",
      );
      this.stats.droppedUnread++;
      this.drop(connection);
    } else if (backlog > media + ANSWER_BACKLOG_PAUSE_BYTES && !socket.isPaused()) {
      connection.readingPaused = true;
      this.stats.readingPaused++;
      socket.pause();
    }
  }

  private resumeReading(connection: Connection): void {
    if (!connection.readingPaused || connection.socket.destroyed) return;
    connection.readingPaused = false;
    connection.socket.resume();
  }

  private reply(
    connection: Connection,
    request: RtspRequest,
    status: number,
    reason: string,
    headers: [string, string][] = [],
    body?: Buffer,
  ): void {
    const socket = connection.socket;
    if (socket.destroyed) return;
    // Only a CSeq that is a number is echoed: nothing a client wrote reaches an answer unchecked.
    const cseq = parseCSeq(request.headers.get("cseq"));
    try {
      socket.write(
        formatResponse(
          status,
          reason,
          [
            ...(cseq !== undefined ? ([["CSeq", String(cseq)]] as [string, string][]) : []),
            ["Server", "camgate"],
            ...headers,
          ],
          body,
        ),
      );
    } catch (error) {
      // An answer that cannot be written (a value with a line break that slipped through) ends this client.
      this.options.logger.warn(
        { address: socket.remoteAddress, err: errorText(error), method: request.method },
        "RTSP answer could not be written; connection closed",
      );
      this.drop(connection);
      return;
    }
    this.checkBacklog(connection);
  }

  private async handle(
    connection: Connection,
    request: RtspRequest,
    only: CameraEntry | undefined,
  ): Promise<void> {
    // OPTIONS is open, as most servers have it; on a connection judged once it is judged like the rest, as
    // the camera does (Dahua's web player expects its first OPTIONS challenged, and answers with credentials).
    if (request.method === "OPTIONS" && request.headers.get("session") === undefined && !connection.authOnce)
      return this.reply(connection, request, 200, "OK", [["Public", PUBLIC]]);
    const judged = connection.authOnce ? connection.principal : undefined;
    const result: RtspAuthResult = judged
      ? { ok: true, principal: judged }
      : this.options.auth.authenticate(
          request,
          connection.socket.remoteAddress ?? "unknown",
          connection.nonce,
        );
    if (!result.ok) {
      this.stats.refused++;
      if (result.status === 429) return this.reply(connection, request, 403, "Forbidden");
      return this.reply(
        connection,
        request,
        401,
        "Unauthorized",
        result.challenges.map((c) => ["WWW-Authenticate", c] as [string, string]),
      );
    }
    const principal = result.principal;
    connection.principal = principal;
    switch (request.method) {
      case "DESCRIBE":
        return this.describe(connection, request, only, principal);
      case "SETUP":
        return this.setup(connection, request, only, principal);
      case "PLAY":
        return this.play(connection, request);
      case "PAUSE":
        return this.pause(connection, request);
      case "TEARDOWN": {
        const session = this.sessionOf(connection, request);
        if (session) this.end(connection, session);
        return this.reply(connection, request, 200, "OK");
      }
      case "OPTIONS":
      case "GET_PARAMETER":
      case "SET_PARAMETER": {
        const session = this.sessionOf(connection, request);
        if (!session && request.headers.get("session") !== undefined)
          return this.reply(connection, request, 454, "Session Not Found");
        return this.reply(connection, request, 200, "OK", [
          ...(session
            ? ([["Session", `${session.id};timeout=${SESSION_TIMEOUT_SECONDS}`]] as [string, string][])
            : []),
          ["Public", PUBLIC],
        ]);
      }
      default:
        return this.reply(connection, request, 501, "Not Implemented");
    }
  }

  /**
   * The stream a request names, if the principal may watch it: `/<camera>`, `/<camera>/sub`,
   * `/<camera>/cam/realmonitor?channel=&subtype=`, or on a camera's own port `/cam/realmonitor?...`.
   */
  private async streamOf(
    uri: string,
    only: CameraEntry | undefined,
    principal: Principal,
  ): Promise<{ hub: StreamHub; base: string } | string> {
    const match = /^rtsps?:\/\/[^/]+(\/[^?]*)(\?[^\s]*)?$/i.exec(uri);
    if (!match) return "not an RTSP URL";
    const path = (match[1] as string).replace(/\/trackID=\d+$/, "").replace(/\/$/, "");
    const query = (match[2] ?? "").replace(/\/trackID=\d+$/, "").replace(/\/$/, "");
    // camgate's own parameters (a signed token) are not the camera's.
    const kept = query
      .slice(1)
      .split("&")
      .filter((pair) => pair !== "" && !/^cg_(exp|user|sig)=/.test(pair));
    const cameraQuery = kept.length > 0 ? `?${kept.join("&")}` : "";
    const base = uri.replace(/\/trackID=\d+$/, "").replace(/\/$/, "");
    let entry: CameraEntry | undefined = only;
    let rest = path;
    if (!entry) {
      const [, id = "", ...tail] = path.split("/");
      entry = this.options.cameras.get(id);
      rest = tail.length > 0 ? `/${tail.join("/")}` : "";
      // The camera's own path on the main port works when there is only one camera.
      if (!entry && path === "/cam/realmonitor" && this.options.cameras.list().length === 1) {
        entry = this.options.cameras.list()[0];
        rest = path;
      }
    }
    if (!entry || !canSeeCamera(principal, entry.id) || !roleAllows(principal.role, "viewer"))
      return "no such stream";
    // Another instance came here for the camera's owner: only the owner serves the cluster (no bouncing
    // between two stale views).
    if (principal.name === CLUSTER_USER && entry.session.route) return NOT_OWNER;
    if (rest === "") return { hub: this.options.hubs.hub(entry, "main"), base };
    if (rest === "/sub") return { hub: this.options.hubs.hub(entry, "sub"), base };
    if (rest === "/cam/realmonitor") {
      const params = new URLSearchParams(cameraQuery);
      const channel = Number(params.get("channel") ?? 1);
      const subtype = Number(params.get("subtype") ?? 0);
      if (
        !Number.isInteger(channel) ||
        channel < 1 ||
        !Number.isInteger(subtype) ||
        subtype < 0 ||
        subtype > 3
      )
        return "no such stream";
      // Until the camera has said how many channels it has (it may be down), only its first is known to
      // exist: a hub per channel any client names would otherwise be made and kept.
      const channels = (await this.options.cameras.channelCount(entry.id)) ?? 1;
      if (channel > channels) return "no such stream";
      return {
        hub: this.options.hubs.hub(entry, { path: `/cam/realmonitor?channel=${channel}&subtype=${subtype}` }),
        base,
      };
    }
    return "no such stream";
  }

  private outputFor(hub: StreamHub): RtpOutput {
    let output = this.outputs.get(hub);
    if (!output) {
      output = new RtpOutput(hub);
      this.outputs.set(hub, output);
    }
    return output;
  }

  private async describe(
    connection: Connection,
    request: RtspRequest,
    only: CameraEntry | undefined,
    principal: Principal,
  ): Promise<void> {
    const stream = await this.streamOf(request.uri, only, principal);
    if (stream === NOT_OWNER) return this.reply(connection, request, 503, "Service Unavailable");
    if (typeof stream === "string") return this.reply(connection, request, 404, "Stream Not Found");
    // The SDP comes from the live parameter sets: the stream starts (and lingers for the SETUP and PLAY).
    const tracks = await waitForTracks(stream.hub, this.options.describeTimeoutMs ?? 8000);
    if (!tracks) {
      const error = stream.hub.stats().lastError;
      this.options.logger.warn(
        { camera: stream.hub.camera, stream: stream.hub.name, err: error },
        "RTSP DESCRIBE: the camera's stream did not start",
      );
      return this.reply(connection, request, 503, "Service Unavailable");
    }
    const sdp = describeStream(tracks, stream.hub.camera, connection.socket.localAddress ?? "0.0.0.0");
    this.reply(
      connection,
      request,
      200,
      "OK",
      [
        ["Content-Base", `${stream.base}/`],
        ["Content-Type", "application/sdp"],
      ],
      Buffer.from(sdp),
    );
  }

  private sessionOf(connection: Connection, request: RtspRequest): Session | undefined {
    const header = request.headers.get("session");
    if (header === undefined) return undefined;
    return connection.sessions.get(header.split(";")[0]?.trim() ?? "");
  }

  private async setup(
    connection: Connection,
    request: RtspRequest,
    only: CameraEntry | undefined,
    principal: Principal,
  ): Promise<void> {
    const stream = await this.streamOf(request.uri, only, principal);
    if (stream === NOT_OWNER) return this.reply(connection, request, 503, "Service Unavailable");
    if (typeof stream === "string") return this.reply(connection, request, 404, "Stream Not Found");
    const transport = parseTransport(request.headers.get("transport") ?? "");
    if (!transport.protocol.endsWith("/TCP") || transport.mode === "record")
      return this.reply(connection, request, 461, "Unsupported Transport");
    const track = /\/trackID=(\d+)\/?$/.exec(request.uri)?.[1] ?? "0";
    let session = this.sessionOf(connection, request);
    if (session && session.hub !== stream.hub)
      return this.reply(connection, request, 459, "Aggregate Operation Not Allowed");
    if (!session) {
      if (connection.sessions.size >= MAX_SESSIONS_PER_CONNECTION)
        return this.reply(connection, request, 453, "Not Enough Bandwidth");
      // Decimal, as Dahua cameras hand them out: the camera web UI's player reads the id with parseInt
      // (TeamDotworld/dahua-rtsp-web, src/WebSocketServer.js). 15 digits stay exact in a JavaScript number.
      const id = String(randomInt(2 ** 47, 2 ** 48 - 1));
      session = {
        id,
        hub: stream.hub,
        // A reload that takes the right away ends the client's connection (stream-grants.ts).
        release: this.options.auth.grants.hold({
          principal,
          camera: stream.hub.camera,
          role: "viewer",
          end: (reason) => {
            this.options.logger.info(
              { camera: stream.hub.camera, user: principal.name, reason },
              "RTSP viewer ended",
            );
            this.drop(connection);
          },
        }),
        output: this.outputFor(stream.hub),
        video: false,
        audio: false,
        viewer: undefined,
        skipped: 0,
      };
      connection.sessions.set(session.id, session);
      this.stats.sessions++;
    }
    const video = track === "0";
    if (video) session.video = true;
    else if (track === "1") session.audio = true;
    else return this.reply(connection, request, 404, "Stream Not Found");
    const channel = video ? 0 : 2;
    this.reply(connection, request, 200, "OK", [
      ["Transport", `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1}`],
      ["Session", `${session.id};timeout=${SESSION_TIMEOUT_SECONDS}`],
    ]);
  }

  private play(connection: Connection, request: RtspRequest) {
    const session = this.sessionOf(connection, request);
    if (!session) return this.reply(connection, request, 454, "Session Not Found");
    const output = session.output;
    output.start();
    const video = output.videoStart();
    const audio = output.audioStart();
    const base = request.uri.replace(/\/$/, "");
    const info = [
      ...(session.video ? [`url=${base}/trackID=0;seq=${video.sequence};rtptime=${video.timestamp}`] : []),
      ...(session.audio ? [`url=${base}/trackID=1;seq=${audio.sequence};rtptime=${audio.timestamp}`] : []),
    ];
    this.reply(connection, request, 200, "OK", [
      ["Session", `${session.id};timeout=${SESSION_TIMEOUT_SECONDS}`],
      ["Range", "npt=0.000-"],
      ["RTP-Info", info.join(",")],
    ]);
    if (session.viewer) return;
    this.options.logger.info(
      {
        camera: session.hub.camera,
        stream: session.hub.name,
        user: connection.principal?.name,
        via: connection.principal?.via,
        address: connection.socket.remoteAddress,
      },
      "RTSP viewer started",
    );
    const socket = connection.socket;
    let skipping = false;
    const stats = this.stats;
    const high = this.options.viewerBacklogBytes ?? DEFAULT_BACKLOG_BYTES;
    const low = high / 8;
    session.viewer = {
      send(bytes, track, keyframe) {
        if (track === "video" ? !session.video : !session.audio) return;
        if (socket.destroyed) return;
        // Behind: drop until a keyframe comes and the socket has room again (the others never wait).
        if (socket.writableLength > high) skipping = true;
        if (skipping) {
          if (track === "video" && keyframe && socket.writableLength < low) skipping = false;
          else {
            stats.skipped++;
            session.skipped++;
            return;
          }
        }
        socket.write(bytes);
      },
    };
    output.add(session.viewer);
  }

  private pause(connection: Connection, request: RtspRequest) {
    const session = this.sessionOf(connection, request);
    if (!session) return this.reply(connection, request, 454, "Session Not Found");
    if (session.viewer) session.output.remove(session.viewer);
    session.viewer = undefined;
    this.reply(connection, request, 200, "OK", [["Session", session.id]]);
  }

  private end(connection: Connection, session: Session): void {
    session.release();
    if (session.viewer) session.output.remove(session.viewer);
    session.viewer = undefined;
    connection.sessions.delete(session.id);
  }

  private drop(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    for (const session of [...connection.sessions.values()]) this.end(connection, session);
    connection.socket.destroy();
  }

  /**
   * A client silent for twice the session timeout (no keepalive, no RTCP) is gone; so is one that never
   * asked, and one whose request has not come whole within seconds of its first bytes (a slow loris).
   */
  private expire(): void {
    const now = Date.now();
    const limit = now - 2 * SESSION_TIMEOUT_SECONDS * 1000;
    for (const connection of [...this.connections])
      if (
        connection.lastSeen < limit ||
        (connection.requests === 0 && connection.openedAt < now - FIRST_REQUEST_TIMEOUT_MS) ||
        (connection.partialSince !== undefined && connection.partialSince < now - PARTIAL_REQUEST_TIMEOUT_MS)
      )
        this.drop(connection);
  }
}

/**
 * The hub's tracks, once it has them (undefined when it fails first): the hub starts for this wait (it describes the camera's stream on its
 * first connect) and lingers afterwards, so the SETUP and PLAY that follow find it running.
 */
function waitForTracks(hub: StreamHub, timeoutMs: number): Promise<StreamTracks | undefined> {
  const now = hub.currentTracks();
  if (now) return Promise.resolve(now);
  return new Promise((resolve) => {
    let detach: (() => void) | undefined;
    let finished = false;
    const done = (tracks: StreamTracks | undefined) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      detach?.();
      resolve(tracks);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    // A stream that fails (or is waiting out a failure: refused credentials, no such path) is answered at
    // once; the client may ask again, and the hub's retries go on.
    detach = hub.attach({
      onTracks: (tracks) => done(tracks),
      onVideo: () => undefined,
      onState: (state) => {
        if (state === "down") done(undefined);
      },
    });
    // Done during attach (tracks at once, or a failure already known): let go now.
    if (finished) detach();
    else if (hub.state === "down") done(undefined);
  });
}
