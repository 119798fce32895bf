/**
 * The emulated camera's RTSP face, as Dahua/Amcrest firmware serves it (rtsp-h264.md §4): Digest in the
 * RFC 2069 form (`realm="Login to <serial>"`, a 32-hex nonce, no qop, the full URL as `uri`), the Dahua SDP
 * shape (`s=Media Server`, `a=control:trackID=0`, PCMA audio), `Session: <id>;timeout=60` enforced, TCP
 * interleaved only (461 for UDP), and 403 once `maxSessions` sessions are open (6 on an IPC-HDW2449TM,
 * AlexxIT/WebRTC#959). Failed logins count toward the camera's HTTP lockout. It uses `protocol/` only.
 */
import { randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { computeDigest, parseDigestAuthorization } from "../protocol/digest.ts";
import {
  formatResponse,
  interleavedHeader,
  parseCSeq,
  parseSession,
  parseTransport,
  RtspReader,
  type RtspRequest,
} from "../protocol/rtsp.ts";
import type { EmulatedVideoStream, StampedPicture } from "./rtsp-stream.ts";

export interface RtspServerOptions {
  host: string;
  realm: string;
  username: string;
  password: () => string;
  maxSessions: number;
  sessionTimeoutSeconds: number;
  /** The stream for a channel (1-based) and subtype, or undefined when the camera has none. */
  stream: (channel: number, subtype: number) => EmulatedVideoStream | undefined;
  isLocked: (address: string) => boolean;
  countFailure: (address: string) => void;
  countSuccess: (address: string) => void;
  dropEveryPacket: number | undefined;
  garbageEveryPacket: number | undefined;
  noMarker: boolean;
  /**
   * A stricter RTSP door than Dahua's (issue 28's finding; no firmware named): OPTIONS is challenged too,
   * each 401 carries a fresh nonce (only the last one is accepted), and every refused signed request counts
   * as a failed login, a request signed with an earlier nonce included.
   */
  strictAuth?: boolean;
  /** No login at all: every request is answered (a camera whose RTSP authentication is off). */
  anonymous?: boolean;
  /** Where audio sent on the backchannel goes (the camera's speaker): one recording per session. */
  speaker?: (codec: string) => { add(chunk: Buffer): void; end(): void };
}

export interface RtspCounters {
  connections: number;
  requests: number;
  sessions: number;
  peakSessions: number;
  refusedSessions: number;
  authFailures: number;
  backchannelRequests: number;
  /** Sessions closed because no request came within the timeout. */
  timedOut: number;
}

/** The backchannel's track id in the SDP [INFERRED: Dahua numbers it apart from video 0 and audio 1]. */
const BACKCHANNEL_TRACK = 5;

interface Track {
  kind: "video" | "audio" | "backchannel";
  channel: number;
  ssrc: number;
  sequence: number;
  timestampOffset: number;
  /** The stream's timestamp at PLAY: this session's RTP time starts at `timestampOffset` from it. */
  timestampBase: number;
}

interface Session {
  id: string;
  socket: Socket;
  stream: EmulatedVideoStream;
  url: string;
  tracks: Map<number, Track>;
  playing: boolean;
  lastSeen: number;
  stop: (() => void) | undefined;
  audioTimer: NodeJS.Timeout | undefined;
  packetsSent: number;
  /** What the client says on the backchannel, while it plays. */
  hearing: { add(chunk: Buffer): void; end(): void } | undefined;
}

const PUBLIC = "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";
const MAX_PAYLOAD = 1400;

export class EmulatedRtspServer {
  private readonly server: Server;
  private readonly sessions = new Map<string, Session>();
  private readonly sockets = new Set<Socket>();
  /** Connections that asked for the ONVIF backchannel (a doorbell acts as if in a call while one is open). */
  private readonly backchannels = new Set<Socket>();
  readonly counters: RtspCounters = {
    connections: 0,
    requests: 0,
    sessions: 0,
    peakSessions: 0,
    refusedSessions: 0,
    authFailures: 0,
    backchannelRequests: 0,
    timedOut: 0,
  };
  port = 0;
  private sweeper: NodeJS.Timeout | undefined;

  /** Whether a client holds a backchannel connection open. */
  get backchannelOpen(): boolean {
    return this.backchannels.size > 0;
  }

  constructor(private readonly options: RtspServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
  }

  async listen(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, this.options.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.port = (this.server.address() as { port: number }).port;
    this.sweeper = setInterval(() => this.expire(), 250);
    this.sweeper.unref();
    return this.port;
  }

  /** Drops every connection and stops listening (a reboot); `listen` again afterwards. */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const session of this.sessions.values()) this.end(session);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  private accept(socket: Socket): void {
    // Each RTP packet leaves when it is written. With Nagle's algorithm a picture's last small packet
    // waited for the ACK of the one before, which the receiver delays up to 40 ms: ~1% of pictures came
    // 40 ms late, in every latency the benchmarks measured through the emulator (camgate's or not).
    socket.setNoDelay(true);
    this.counters.connections++;
    this.sockets.add(socket);
    const reader = new RtspReader();
    // One nonce per connection, as Dahua's RTSP server issues it (a fresh one per challenge with the strict
    // quirk).
    const nonce = { value: randomBytes(16).toString("hex") };
    socket.on("data", (chunk: Buffer) => {
      // A client whose bytes break something loses its connection; the camera goes on (as firmware does).
      try {
        for (const item of reader.push(chunk)) {
          if (item.kind === "request") this.handle(socket, item, nonce);
          else if (item.kind === "data") this.heard(socket, item.channel, item.payload);
        }
      } catch {
        socket.destroy();
      }
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.sockets.delete(socket);
      this.backchannels.delete(socket);
      for (const session of this.sessions.values()) if (session.socket === socket) this.end(session);
    });
  }

  /** An RTP packet from a client: on a backchannel track, its G.711 payload goes to the speaker. */
  private heard(socket: Socket, channel: number, packet: Buffer): void {
    for (const session of this.sessions.values()) {
      if (session.socket !== socket || !session.hearing) continue;
      const track = [...session.tracks.values()].find(
        (t) => t.kind === "backchannel" && t.channel === channel,
      );
      if (!track || packet.length < 12 || packet[0] === undefined || packet[0] >> 6 !== 2) return;
      // RTP: 12 bytes, CSRCs, an extension, padding (RFC 3550 §5.1).
      let offset = 12 + (packet[0] & 0x0f) * 4;
      if (packet[0] & 0x10 && packet.length >= offset + 4) offset += 4 + packet.readUInt16BE(offset + 2) * 4;
      const padding = packet[0] & 0x20 ? (packet[packet.length - 1] ?? 0) : 0;
      if (offset <= packet.length - padding)
        session.hearing.add(packet.subarray(offset, packet.length - padding));
      return;
    }
  }

  private reply(
    socket: Socket,
    request: RtspRequest,
    status: number,
    reason: string,
    headers: [string, string][] = [],
    body?: Buffer,
  ): void {
    if (socket.destroyed) return;
    socket.write(
      formatResponse(
        status,
        reason,
        [
          ["CSeq", String(parseCSeq(request.headers.get("cseq")) ?? 0)],
          ["Server", "Rtsp Server/3.0"],
          ...headers,
        ],
        body,
      ),
    );
  }

  private authorized(socket: Socket, request: RtspRequest, current: { value: string }): boolean {
    if (this.options.anonymous === true) return true;
    const address = socket.remoteAddress ?? "unknown";
    const nonce = current.value;
    const strict = this.options.strictAuth === true;
    // The strict quirk: every challenge carries a fresh nonce, and the last one is the only one accepted.
    if (strict) current.value = randomBytes(16).toString("hex");
    const challenge: [string, string] = [
      "WWW-Authenticate",
      `Digest realm="${this.options.realm}", nonce="${strict ? current.value : nonce}"`,
    ];
    if (this.options.isLocked(address)) {
      this.reply(socket, request, 401, "Unauthorized", [challenge]);
      return false;
    }
    const header = request.headers.get("authorization");
    const credentials = header === undefined ? undefined : parseDigestAuthorization(header);
    if (!credentials) {
      this.reply(socket, request, 401, "Unauthorized", [challenge]);
      return false;
    }
    const expected = computeDigest({
      algorithm: "MD5",
      username: this.options.username,
      password: this.options.password(),
      realm: this.options.realm,
      nonce,
      method: request.method,
      uri: credentials.uri,
    }).response;
    const ok =
      credentials.username === this.options.username &&
      credentials.realm === this.options.realm &&
      credentials.nonce === nonce &&
      credentials.uri === request.uri &&
      expected.length === credentials.response.length &&
      timingSafeEqual(Buffer.from(expected), Buffer.from(credentials.response));
    if (!ok) {
      // A stale or foreign nonce is a new challenge, not a failed login (the strict quirk counts it too).
      if (credentials.nonce === nonce || strict) {
        this.counters.authFailures++;
        this.options.countFailure(address);
      }
      this.reply(socket, request, 401, "Unauthorized", [challenge]);
      return false;
    }
    this.options.countSuccess(address);
    // Accepted: the nonce stays good until the next challenge.
    current.value = nonce;
    return true;
  }

  private handle(socket: Socket, request: RtspRequest, nonce: { value: string }) {
    this.counters.requests++;
    const sessionHeader = request.headers.get("session");
    const session =
      sessionHeader === undefined ? undefined : this.sessions.get(parseSession(sessionHeader).id);
    if (session) session.lastSeen = Date.now();
    if (request.method === "OPTIONS" && this.options.strictAuth !== true)
      return this.reply(socket, request, 200, "OK", [["Public", PUBLIC]]);
    if (!this.authorized(socket, request, nonce)) return;
    switch (request.method) {
      case "DESCRIBE":
        return this.describe(socket, request);
      case "SETUP":
        return this.setup(socket, request, session);
      case "PLAY":
        return this.play(socket, request, session);
      case "GET_PARAMETER":
      case "SET_PARAMETER":
        if (!session) return this.reply(socket, request, 454, "Session Not Found");
        return this.reply(socket, request, 200, "OK", [["Session", session.id]]);
      case "OPTIONS":
        return this.reply(socket, request, 200, "OK", [["Public", PUBLIC]]);
      case "TEARDOWN":
        if (session) this.end(session);
        return this.reply(socket, request, 200, "OK");
      default:
        return this.reply(socket, request, 501, "Not Implemented");
    }
  }

  /** `/cam/realmonitor?channel=1&subtype=0`, with or without a `/trackID=n` after it. */
  private target(
    uri: string,
  ): { base: string; channel: number; subtype: number; track: number | undefined } | undefined {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return undefined;
    }
    // The track is after the query (Content-Base + "trackID=0") or after the path when there is no query.
    const track = /\/trackID=(\d+)$/.exec(url.search) ?? /\/trackID=(\d+)$/.exec(url.pathname);
    const search = url.search.replace(/\/trackID=\d+$/, "");
    const path = url.pathname.replace(/\/trackID=\d+$/, "").replace(/\/$/, "");
    if (path !== "/cam/realmonitor") return undefined;
    const params = new URLSearchParams(search);
    const channel = Number(params.get("channel") ?? 1);
    const subtype = Number(params.get("subtype") ?? 0);
    if (!Number.isInteger(channel) || !Number.isInteger(subtype)) return undefined;
    return {
      base: `rtsp://${url.host}${path}${search}`,
      channel,
      subtype,
      track: track ? Number(track[1]) : undefined,
    };
  }

  private describe(socket: Socket, request: RtspRequest) {
    if (/backchannel/i.test(request.headers.get("require") ?? "")) {
      this.counters.backchannelRequests++;
      this.backchannels.add(socket);
    }
    const target = this.target(request.uri);
    const stream = target && this.options.stream(target.channel, target.subtype);
    if (!target || !stream) return this.reply(socket, request, 404, "Not Found");
    const fixture = stream.fixture;
    const sets = fixture.parameterSets.map((nal) => nal.toString("base64"));
    const sps = fixture.parameterSets[fixture.codec === "h264" ? 0 : 1];
    const video =
      fixture.codec === "h264"
        ? [
            "a=rtpmap:96 H264/90000",
            `a=fmtp:96 packetization-mode=1;profile-level-id=${sps?.subarray(1, 4).toString("hex").toUpperCase()};sprop-parameter-sets=${sets.join(",")}`,
          ]
        : [
            "a=rtpmap:98 H265/90000",
            `a=fmtp:98 sprop-vps=${sets[0]};sprop-sps=${sets[1]};sprop-pps=${sets[2]}`,
          ];
    const payloadType = fixture.codec === "h264" ? 96 : 98;
    const sdp = [
      "v=0",
      `o=- 2251938202 2251938202 IN IP4 ${socket.localAddress ?? "0.0.0.0"}`,
      "s=Media Server",
      "c=IN IP4 0.0.0.0",
      "t=0 0",
      "a=control:*",
      "a=packetization-supported:DH",
      "a=rtppayload-supported:DH",
      "a=x-packetization-supported:IV",
      "a=x-rtppayload-supported:IV",
      "a=range:npt=now-",
      `m=video 0 RTP/AVP ${payloadType}`,
      "a=control:trackID=0",
      `a=framerate:${fixture.fps.toFixed(6)}`,
      ...video,
      "a=recvonly",
      "m=audio 0 RTP/AVP 8",
      "a=control:trackID=1",
      "a=rtpmap:8 PCMA/8000",
      "a=recvonly",
      // Asked for with `Require: www.onvif.org/ver20/backchannel`: the track the camera hears on.
      ...(this.backchannels.has(socket) && this.options.speaker
        ? [
            "m=audio 0 RTP/AVP 8",
            `a=control:trackID=${BACKCHANNEL_TRACK}`,
            "a=rtpmap:8 PCMA/8000",
            "a=sendonly",
          ]
        : []),
      "",
    ].join("\r\n");
    this.reply(
      socket,
      request,
      200,
      "OK",
      [
        ["Content-Base", `${target.base}/`],
        ["Content-Type", "application/sdp"],
      ],
      Buffer.from(sdp),
    );
  }

  private setup(socket: Socket, request: RtspRequest, existing: Session | undefined) {
    const target = this.target(request.uri);
    const stream = target && this.options.stream(target.channel, target.subtype);
    const backchannel =
      target?.track === BACKCHANNEL_TRACK && this.backchannels.has(socket) && this.options.speaker;
    if (!target || !stream || target.track === undefined || (target.track > 1 && !backchannel))
      return this.reply(socket, request, 404, "Not Found");
    const transport = parseTransport(request.headers.get("transport") ?? "");
    if (!transport.protocol.endsWith("/TCP") || !transport.interleaved)
      return this.reply(socket, request, 461, "Unsupported Transport");
    let session = existing;
    if (!session) {
      if (this.sessions.size >= this.options.maxSessions) {
        this.counters.refusedSessions++;
        return this.reply(socket, request, 403, "Forbidden");
      }
      session = {
        id: randomBytes(4).toString("hex").toUpperCase(),
        socket,
        stream,
        url: target.base,
        tracks: new Map(),
        playing: false,
        lastSeen: Date.now(),
        stop: undefined,
        audioTimer: undefined,
        packetsSent: 0,
        hearing: undefined,
      };
      this.sessions.set(session.id, session);
      this.counters.sessions++;
      this.counters.peakSessions = Math.max(this.counters.peakSessions, this.sessions.size);
    }
    const ssrc = randomInt(1, 2 ** 31);
    const [channel] = transport.interleaved;
    session.tracks.set(target.track, {
      kind: target.track === 0 ? "video" : target.track === 1 ? "audio" : "backchannel",
      channel,
      ssrc,
      sequence: randomInt(0, 65_536),
      timestampOffset: randomInt(0, 2 ** 31),
      timestampBase: 0,
    });
    this.reply(socket, request, 200, "OK", [
      [
        "Transport",
        `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1};ssrc=${ssrc.toString(16).toUpperCase().padStart(8, "0")}`,
      ],
      ["Session", `${session.id};timeout=${this.options.sessionTimeoutSeconds}`],
    ]);
  }

  private play(socket: Socket, request: RtspRequest, session: Session | undefined) {
    if (!session) return this.reply(socket, request, 454, "Session Not Found");
    const video = session.tracks.get(0);
    if (video && !session.playing) video.timestampBase = session.stream.nextTimestamp;
    const info = [...session.tracks.entries()].map(
      ([id, track]) =>
        `url=${session.url}/trackID=${id};seq=${track.sequence};rtptime=${track.timestampOffset}`,
    );
    this.reply(socket, request, 200, "OK", [
      ["Session", session.id],
      ["Range", "npt=0.000-"],
      ["RTP-Info", info.join(",")],
    ]);
    if (session.playing) return;
    session.playing = true;
    if ([...session.tracks.values()].some((t) => t.kind === "backchannel"))
      session.hearing = this.options.speaker?.("G.711A");
    if (video)
      session.stop = session.stream.subscribe((picture) => this.sendPicture(session, video, picture));
    const audio = session.tracks.get(1);
    if (audio) {
      // G.711 A-law silence (0xD5), 20 ms per packet.
      const silence = Buffer.alloc(160, 0xd5);
      let timestamp = 0;
      session.audioTimer = setInterval(() => {
        timestamp += 160;
        this.sendPacket(session, audio, silence, timestamp, true, 8);
      }, 20);
      session.audioTimer.unref();
    }
  }

  private sendPicture(session: Session, track: Track, picture: StampedPicture): void {
    const codec = session.stream.fixture.codec;
    const payloadType = codec === "h264" ? 96 : 98;
    const payloads: Buffer[] = [];
    for (const nal of picture.nalus) {
      if (nal.length <= MAX_PAYLOAD) {
        payloads.push(nal);
        continue;
      }
      // FU-A (H.264) or FU (H.265), ~1400 bytes each.
      const headerBytes = codec === "h264" ? 1 : 2;
      const body = nal.subarray(headerBytes);
      for (let at = 0; at < body.length; at += MAX_PAYLOAD) {
        const flags = (at === 0 ? 0x80 : 0) | (at + MAX_PAYLOAD >= body.length ? 0x40 : 0);
        const header =
          codec === "h264"
            ? Buffer.from([((nal[0] as number) & 0xe0) | 28, flags | ((nal[0] as number) & 0x1f)])
            : Buffer.from([
                ((nal[0] as number) & 0x81) | (49 << 1),
                nal[1] as number,
                flags | (((nal[0] as number) >> 1) & 0x3f),
              ]);
        payloads.push(Buffer.concat([header, body.subarray(at, at + MAX_PAYLOAD)]));
      }
    }
    // A real camera does not queue for a slow reader: a picture that does not fit is skipped.
    if (session.socket.writableLength > 2 * 1024 * 1024) return;
    payloads.forEach((payload, i) => {
      this.sendPacket(
        session,
        track,
        payload,
        picture.timestamp - track.timestampBase,
        i === payloads.length - 1 && !this.options.noMarker,
        payloadType,
      );
    });
  }

  private sendPacket(
    session: Session,
    track: Track,
    payload: Buffer,
    timestamp: number,
    marker: boolean,
    payloadType: number,
  ): void {
    const sequence = track.sequence;
    track.sequence = (track.sequence + 1) & 0xffff;
    session.packetsSent++;
    const drop = this.options.dropEveryPacket;
    if (drop !== undefined && session.packetsSent % drop === 0) return;
    const garbage = this.options.garbageEveryPacket;
    if (garbage !== undefined && session.packetsSent % garbage === 0 && !session.socket.destroyed)
      session.socket.write(garbageFrame(session.packetsSent / garbage, track.channel));
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = (marker ? 0x80 : 0) | payloadType;
    header.writeUInt16BE(sequence, 2);
    header.writeUInt32BE((timestamp + track.timestampOffset) >>> 0, 4);
    header.writeUInt32BE(track.ssrc, 8);
    if (!session.socket.destroyed)
      session.socket.write(
        Buffer.concat([interleavedHeader(track.channel, 12 + payload.length), header, payload]),
      );
  }

  /** Sessions without a request (a keepalive) within their timeout are closed, as the firmware does. */
  private expire(): void {
    const now = Date.now();
    for (const session of [...this.sessions.values()]) {
      if (now - session.lastSeen > this.options.sessionTimeoutSeconds * 1000) {
        this.counters.timedOut++;
        this.end(session);
        session.socket.destroy();
      }
    }
  }

  private end(session: Session): void {
    session.hearing?.end();
    session.hearing = undefined;
    session.stop?.();
    if (session.audioTimer) clearInterval(session.audioTimer);
    this.sessions.delete(session.id);
  }
}

/** The `n`th broken thing of the garbage quirk (see StreamQuirks.garbageEveryPacket). */
function garbageFrame(n: number, channel: number): Buffer {
  switch (n % 5) {
    case 0:
      // Line noise: no `$`, no RTSP.
      return Buffer.from("\x17\x99noise\xff\x00\x13", "latin1");
    case 1:
      // A frame on a channel nobody set up.
      return Buffer.concat([interleavedHeader(9, 16), Buffer.alloc(16, 0xab)]);
    case 2: {
      // RTP version 0.
      const packet = Buffer.alloc(20, 0x55);
      packet[0] = 0x00;
      return Buffer.concat([interleavedHeader(channel, packet.length), packet]);
    }
    case 3: {
      // A FU-A middle fragment with no start, three bytes long.
      const packet = Buffer.from([0x80, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x7c, 0x05, 0x00]);
      return Buffer.concat([interleavedHeader(channel, packet.length), packet]);
    }
    default:
      return interleavedHeader(channel, 0);
  }
}
