/**
 * One upstream RTSP session (per camera, channel and subtype): OPTIONS, DESCRIBE, SETUP of the video (and
 * audio) track over TCP interleaved, PLAY; keepalives before the session timeout (GET_PARAMETER when the
 * camera offers it, else OPTIONS: aler9's rule, mediamtx#1066); a silence watchdog; reconnects with backoff
 * through the shared `StreamLoop` (as a `StreamSource`). It takes a slot of the camera's RTSP budget (separate from its HTTP
 * budget, so a live stream never takes a connection from the CGI calls) and logs in under the session's
 * rules (one failed login per backoff, across HTTP and RTSP). It never asks for the ONVIF backchannel: an
 * open one silences Dahua doorbells (go2rtc#95, frigate#5020).
 */

import { type AacConfig, depacketizeAac, parseAacConfig } from "../media/aac.ts";
import type { AccessUnit, AudioFrame, VideoCodec } from "../media/access-unit.ts";
import { BitstreamError } from "../media/bits.ts";
import { H264Depacketizer } from "../media/h264-depacketizer.ts";
import { H265Depacketizer } from "../media/h265-depacketizer.ts";
import { parseRtp, RtpError, SsrcLock } from "../media/rtp.ts";
import { type InterleavedFrame, parseSession, parseTransport, type RtspResponse } from "../protocol/rtsp.ts";
import {
  type MediaDescription,
  parseSdp,
  resolveControl,
  SdpError,
  spropParameterSets,
} from "../protocol/sdp.ts";
import { type BudgetSlot, BudgetTimeoutError, type ConnectionBudget } from "./budget.ts";
import { CameraError } from "./errors.ts";
import { judgeRtspLogin, RtspConnection } from "./rtsp-connection.ts";
import type { CameraSession, LoginTurn } from "./session.ts";
import { StreamSource, type StreamSourceOptions } from "./stream-source.ts";
import { downFromError } from "./stream-status.ts";

export type AudioCodec = "pcma" | "pcmu" | "aac";

export interface VideoTrack {
  codec: VideoCodec;
  /** Parameter sets from the SDP (in-band ones update the depacketizer's). */
  parameterSets: Uint8Array[];
}

export interface AudioTrack {
  codec: AudioCodec;
  clockRate: number;
  channels: number;
  aac: AacConfig | undefined;
}

export interface RtspDescription {
  video: VideoTrack | undefined;
  audio: AudioTrack | undefined;
}

/**
 * Where a stream is, asked before each connect: a port and path of the camera's host, or (through the
 * instance that owns the camera) another host with credentials of its own, where no login of the camera's
 * is at stake.
 */
export interface RtspLocation {
  port: number;
  path: string;
  peer?: { host: string; username: string; password: string };
}

export interface RtspSourceOptions extends StreamSourceOptions {
  session: CameraSession;
  /** The camera's RTSP sessions (default 2 of its ~6: main and sub). */
  budget: ConnectionBudget;
  host: string;
  port: number;
  /** `/cam/realmonitor?channel=1&subtype=0` */
  path: string;
  /**
   * Where the stream is, asked before every connect (an ONVIF camera's GetStreamUri): its port and path
   * replace `port` and `path`; the host stays the camera's.
   */
  locate?: () => Promise<RtspLocation>;
  /** No video for this long: the stream is dead (default 5 s, go2rtc's read deadline). */
  silenceMs?: number;
  connectTimeoutMs?: number;
  onDescription: (description: RtspDescription) => void;
  onVideo: (unit: AccessUnit) => void;
  onAudio?: (frame: AudioFrame) => void;
}

export interface RtspSourceStats {
  connects: number;
  stalls: number;
  /** Frames on a track's channel that were not RTP, or not from the track's SSRC. */
  badPackets: number;
  packets: number;
}

const RESPONSE_TIMEOUT_MS = 10_000;
/**
 * A free RTSP session slot frees only when another stream of the camera stops (after its linger): waiting
 * long for one helps nobody; the viewer gets 503 and the loop tries again.
 */
const BUDGET_WAIT_MS = 1000;
/**
 * Retries back off to a minute when a stream fails the same way again and again (a camera answering PLAY
 * 404 must not be asked 2.5 times a second for as long as camgate runs: issue 27); its hub shortens that
 * to a few seconds while someone watches, and a camera seen back is retried at once.
 */
const DEFAULT_BACKOFF_MAX_MS = 60_000;

/** The owner's RTSP server judges its own users: a refusal there is an error, not the camera's verdict. */
const PEER_TURN: LoginTurn = {
  onTrial: false,
  succeeded: () => undefined,
  refused: (message) =>
    new CameraError("auth-failed", "", `the owning camgate refused the cluster: ${message}`),
  failed: () => undefined,
};

export class RtspSource extends StreamSource {
  private connection: RtspConnection | undefined;
  private slot: BudgetSlot | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private sessionId: string | undefined;
  /**
   * The session's aggregate control URL (RFC 2326 C.1.1, RFC 7826 §18.31): the session-level `a=control`
   * resolved against Content-Base, then Content-Location, then the request URL; `*` or none is that base.
   * PLAY, keepalives and TEARDOWN go there: a strict server (GStreamer's) answers 404 anywhere else.
   */
  private aggregateUrl: string | undefined;
  description: RtspDescription | undefined;
  readonly stats: RtspSourceStats = { connects: 0, stalls: 0, badPackets: 0, packets: 0 };
  private depacketizer: H264Depacketizer | H265Depacketizer | undefined;

  private port: number;
  private path: string;
  /** Set while the stream comes from the instance that owns the camera. */
  private peer: RtspLocation["peer"];

  constructor(private readonly options: RtspSourceOptions) {
    // The longest wait between attempts: a function of whether someone watches, from the hub.
    super({ ...options, backoffMaxMs: options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS });
    this.port = options.port;
    this.path = options.path;
  }

  get url(): string {
    const shown = this.peer?.host ?? this.options.host;
    const host = shown.includes(":") ? `[${shown}]` : shown;
    return `rtsp://${host}:${this.port}${this.path}`;
  }

  /** The depacketizer's counts (dropped pictures, gaps, refused packets). */
  get mediaStats() {
    return this.depacketizer?.stats;
  }

  protected release(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = undefined;
    const connection = this.connection;
    this.connection = undefined;
    if (connection && this.sessionId) {
      // Said, not awaited: the camera frees the session at once instead of at its timeout. A camera that
      // is gone cannot hear it; its session then ends by its own timeout, which is what TEARDOWN hastens.
      void connection.request("TEARDOWN", this.aggregateUrl ?? this.url, [["Session", this.sessionId]]).then(
        () => connection.close(),
        () => connection.close(),
      );
    } else connection?.close();
    this.sessionId = undefined;
    this.slot?.release();
    this.slot = undefined;
  }

  protected async connect(generation: number): Promise<void> {
    const camera = this.options.session.id;
    if (this.options.locate) {
      try {
        ({ port: this.port, path: this.path, peer: this.peer } = await this.options.locate());
      } catch (error) {
        if (this.loop.isCurrent(generation)) this.fail(downFromError(error, camera));
        return;
      }
      if (!this.loop.isCurrent(generation)) return;
    }
    try {
      this.slot = await this.options.budget.acquire("interactive", BUDGET_WAIT_MS);
    } catch (error) {
      const message =
        error instanceof BudgetTimeoutError
          ? `all ${this.options.budget.max} RTSP sessions of the camera are in use`
          : String(error);
      if (this.loop.isCurrent(generation))
        this.fail({ code: "refused", error: new CameraError("busy", camera, message) });
      return;
    }
    const peer = this.peer;
    let turn: LoginTurn;
    try {
      // Through the owner no login of the camera's is tried: its refusal proves nothing about the camera.
      turn = peer ? PEER_TURN : await this.options.session.loginTurn();
    } catch (error) {
      if (this.loop.isCurrent(generation)) this.fail(downFromError(error, camera));
      return;
    }
    if (!this.loop.isCurrent(generation)) {
      turn.failed(new CameraError("unreachable", camera, "stopped"));
      return;
    }
    const { username, password } = peer ?? this.options.session.credentials;
    const connection = new RtspConnection({
      camera,
      host: peer?.host ?? this.options.host,
      port: this.port,
      username,
      password,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 5000,
      responseTimeoutMs: RESPONSE_TIMEOUT_MS,
      onFrame: (frame) => {
        if (this.loop.isCurrent(generation)) this.frame(generation, frame);
      },
      onClose: (error) => {
        if (this.loop.isCurrent(generation) && this.loop.state === "live")
          this.fail({ code: "ended", error });
      },
    });
    this.connection = connection;
    let judged = false;
    try {
      await connection.open();
      const options = await connection.request("OPTIONS", this.url);
      // Credentials refused on OPTIONS are refused: no DESCRIBE to fail a second login with.
      const describe =
        options.status === 401
          ? options
          : await connection.request("DESCRIBE", this.url, [["Accept", "application/sdp"]]);
      judged = true;
      judgeRtspLogin(turn, describe.status);
      this.expectOk(describe, "DESCRIBE");
      const sdp = parseSdp(describe.body.toString("utf8"));
      const base =
        describe.headers.get("content-base") ?? describe.headers.get("content-location") ?? this.url;
      const tracks = this.chooseTracks(sdp.media);
      const description: RtspDescription = { video: undefined, audio: undefined };
      const channels = new Map<number, "video" | "audio">();
      let session: string | undefined;
      let timeoutSeconds = 60;
      for (const [index, media] of [tracks.video, tracks.audio].entries()) {
        if (!media) continue;
        const kind = index === 0 ? "video" : "audio";
        const setup = await connection.request("SETUP", resolveControl(base, media.control), [
          ["Transport", `RTP/AVP/TCP;unicast;interleaved=${index * 2}-${index * 2 + 1}`],
          ...(session ? ([["Session", session]] as [string, string][]) : []),
        ]);
        if (setup.status === 461 && kind === "audio") continue;
        this.expectOk(setup, `SETUP ${kind}`);
        const sessionHeader = setup.headers.get("session");
        if (sessionHeader) ({ id: session, timeoutSeconds } = parseSession(sessionHeader));
        // The camera says which channel it sends on (Dahua echoes it, quirk #13 of the reference): use that.
        const transport = parseTransport(setup.headers.get("transport") ?? "");
        channels.set(transport.interleaved?.[0] ?? index * 2, kind);
        if (kind === "video") description.video = this.videoTrack(media);
        else description.audio = this.audioTrack(media);
      }
      if (!session || !description.video)
        throw new CameraError("bad-response", camera, "the camera set up no video session");
      this.sessionId = session;
      this.channels = channels;
      this.ssrcLocks = { video: new SsrcLock(), audio: new SsrcLock() };
      this.depacketizer =
        description.video.codec === "h264"
          ? new H264Depacketizer(description.video.parameterSets)
          : new H265Depacketizer(description.video.parameterSets);
      this.description = description;
      this.options.onDescription(description);
      this.aggregateUrl = resolveControl(base, sdp.control);
      const play = await connection.request("PLAY", this.aggregateUrl, [
        ["Session", session],
        ["Range", "npt=0.000-"],
      ]);
      this.expectOk(play, "PLAY");
      if (!this.loop.isCurrent(generation)) return;
      this.stats.connects++;
      this.scheduleKeepalive(
        generation,
        connection,
        session,
        timeoutSeconds,
        /GET_PARAMETER/i.test(options.headers.get("public") ?? ""),
      );
      this.loop.watch(generation, this.options.silenceMs ?? 5000, () => this.stalled());
      this.loop.live();
    } catch (error) {
      if (!judged) turn.failed(error);
      if (!this.loop.isCurrent(generation)) return;
      if (error instanceof SdpError) {
        this.fail({ code: "malformed", error: new CameraError("bad-response", camera, error.message) });
        return;
      }
      this.fail(downFromError(error, camera));
    }
  }

  private channels = new Map<number, "video" | "audio">();
  private ssrcLocks = { video: new SsrcLock(), audio: new SsrcLock() };

  private expectOk(response: RtspResponse, what: string): void {
    if (response.status === 200) return;
    const camera = this.options.session.id;
    // 403 is Dahua's "online user amount has reached the threshold" (AlexxIT/WebRTC#959).
    const code =
      response.status === 403
        ? "forbidden"
        : response.status === 404 || response.status === 461
          ? "unsupported"
          : "bad-response";
    throw new CameraError(code, camera, `RTSP ${what} answered ${response.status} ${response.reason}`, {
      status: response.status,
    });
  }

  private chooseTracks(media: MediaDescription[]): {
    video: MediaDescription | undefined;
    audio: MediaDescription | undefined;
  } {
    const video = media.find((m) => m.kind === "video" && (m.encoding === "H264" || m.encoding === "H265"));
    if (!video) {
      const kinds = media.map((m) => `${m.kind} ${m.encoding || m.payloadType}`).join(", ");
      throw new CameraError(
        "unsupported",
        this.options.session.id,
        `no H.264 or H.265 video in the stream (${kinds})`,
      );
    }
    const audio = media.find(
      (m) => m.kind === "audio" && ["PCMA", "PCMU", "MPEG4-GENERIC"].includes(m.encoding),
    );
    return { video, audio };
  }

  private videoTrack(media: MediaDescription): VideoTrack {
    return { codec: media.encoding === "H265" ? "h265" : "h264", parameterSets: spropParameterSets(media) };
  }

  private audioTrack(media: MediaDescription): AudioTrack {
    const codec: AudioCodec = media.encoding === "PCMA" ? "pcma" : media.encoding === "PCMU" ? "pcmu" : "aac";
    const config = media.fmtp.get("config");
    let aac: AacConfig | undefined;
    if (codec === "aac" && config) {
      try {
        aac = parseAacConfig(config);
      } catch (error) {
        // An unreadable config: the audio goes without it (consumers that need it leave the audio out).
        if (!(error instanceof RangeError || error instanceof BitstreamError)) throw error;
        this.options.session.warn("the camera's AAC config cannot be read", { config, err: error.message });
      }
    }
    return { codec, clockRate: media.clockRate, channels: media.channels ?? 1, aac };
  }

  private frame(generation: number, frame: InterleavedFrame): void {
    const kind = this.channels.get(frame.channel);
    if (!kind) return; // RTCP (the odd channels), or a channel we did not ask for.
    let packet: ReturnType<typeof parseRtp>;
    try {
      packet = parseRtp(frame.payload);
    } catch (error) {
      if (!(error instanceof RtpError)) throw error;
      this.stats.badPackets++;
      return;
    }
    if (!this.ssrcLocks[kind].accept(packet.ssrc)) {
      this.stats.badPackets++;
      return;
    }
    this.stats.packets++;
    if (kind === "audio") {
      const audio = this.description?.audio;
      if (!audio || !this.options.onAudio) return;
      if (audio.codec === "aac")
        for (const f of depacketizeAac(packet.payload, packet.timestamp)) this.options.onAudio(f);
      else this.options.onAudio({ data: packet.payload, timestamp: packet.timestamp });
      return;
    }
    this.loop.watch(generation, this.options.silenceMs ?? 5000, () => this.stalled());
    for (const unit of this.depacketizer?.push(packet) ?? []) this.options.onVideo(unit);
  }

  private stalled(): void {
    this.stats.stalls++;
    this.fail({
      code: "stalled",
      error: new CameraError(
        "timeout",
        this.options.session.id,
        `no video for ${this.options.silenceMs ?? 5000} ms`,
      ),
    });
  }

  private scheduleKeepalive(
    generation: number,
    connection: RtspConnection,
    session: string,
    timeoutSeconds: number,
    getParameter: boolean,
  ): void {
    // Before the session times out (Dahua: 60 s, reference quirk #3); some cameras use less than 30 s.
    const every = Math.max(500, Math.min((timeoutSeconds * 1000) / 2, timeoutSeconds * 1000 - 5000));
    this.keepalive = setInterval(() => {
      void connection
        .request(getParameter ? "GET_PARAMETER" : "OPTIONS", this.aggregateUrl ?? this.url, [
          ["Session", session],
        ])
        .then((response) => {
          if (response.status !== 200 && this.loop.isCurrent(generation))
            this.fail({
              code: "ended",
              error: new CameraError(
                "bad-response",
                this.options.session.id,
                `RTSP keepalive answered ${response.status}`,
              ),
            });
        })
        .catch((error: unknown) => {
          if (this.loop.isCurrent(generation)) this.fail(downFromError(error, this.options.session.id));
        });
    }, every);
  }
}
