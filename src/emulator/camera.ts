/**
 * One emulated Amcrest/Dahua camera: an HTTP server that authenticates and answers like the device family of
 * its profile, with the device's limits (connection count, lockout) and faults on demand for tests.
 */

import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { getAtPath, type JsonObject, type JsonValue, parsePath, setAtPath } from "../protocol/kv.ts";
import { type SmtpTarget, sendAlarmMail } from "./alarm-mail.ts";
import { AuthGuard } from "./auth-guard.ts";
import { handleAudio } from "./cgi-audio.ts";
import { handleConfigBackup, handleConfigManager } from "./cgi-config.ts";
import { handleGlobal, handleLog, handleMagicBox } from "./cgi-device.ts";
import { handleEventManager } from "./cgi-events.ts";
import { handleMjpeg, handleSnapshot } from "./cgi-media.ts";
import { handlePtz } from "./cgi-ptz.ts";
import { handleMediaFileFind, handleRpcLoadfile, RPC_LOADFILE } from "./cgi-recordings.ts";
import { type CameraHandler, parseDeviceQuery, replyBody, replyUnsupported } from "./cgi-request.ts";
import { handleStorageDevice } from "./cgi-storage.ts";
import { buildConfigTree, SECURITY_PRESETS } from "./config-tree.ts";
import type { CameraEvent } from "./event-framing.ts";
import { EventHub, type MotionCycle, wallClock } from "./event-hub.ts";
import { FrameRenderer, type FrameScene, type RenderedFrame } from "./frame-renderer.ts";
import { FrameSource } from "./frame-source.ts";
import { LogBook } from "./log-book.ts";
import { EmulatedOnvif } from "./onvif-face.ts";
import { defaultMachineName, PROFILES, type Profile, type ProfileName, serialFor } from "./profiles.ts";
import { PtzState } from "./ptz.ts";
import { EmulatedRpc2 } from "./rpc2-face.ts";
import { EmulatedRtspServer, type RtspCounters } from "./rtsp-server.ts";
import { EmulatedVideoStream, type StreamQuirks, type VideoSourceSpec } from "./rtsp-stream.ts";
import type { SceneLayer } from "./scene-layers.ts";
import { SdCard } from "./sd-card.ts";
import { Speaker } from "./speaker.ts";
import { TelnetFace } from "./telnet-face.ts";
import { hasFixture } from "./video-fixture.ts";
import { WEB_CSS, WEB_PAGE, WEB_SCRIPT } from "./web-page.ts";

export interface AlarmMailTarget extends SmtpTarget {
  from?: string;
  to?: string[];
}

export interface EmulatedCameraOptions {
  profile: ProfileName;
  host?: string;
  /** 0 for an ephemeral port. */
  port?: number;
  username?: string;
  password?: string;
  /** Which unit of a `--count` group this is; changes serial and name. */
  unit?: number;
  /** Send alarm mails here (also enables `Email.Enable`). */
  smtp?: AlarmMailTarget;
  /** The device's `maxConnectNum` (IP2M-841B SNMP walk: 10). */
  maxConnections?: number;
  /** How long a reusable nonce lives before the camera answers `stale=TRUE`. */
  nonceLifetimeMs?: number;
  /**
   * A count that does not increase (requests overtaking each other on separate connections): answered
   * with a fresh challenge (default), or with `stale=TRUE`, as a strict Dahua NVR was seen to.
   */
  ncRegression?: "challenge" | "stale";
  /** Overrides `General.LoginFailLockTime` (seconds on the device) for tests. */
  lockDurationMs?: number;
  /** Periodic motion while MotionDetect is enabled; false for none (the default in tests). */
  motionCycle?: MotionCycle | false;
  rebootDurationMs?: number;
  /** Config paths to override at start, e.g. `{"Encode[0].ExtraFormat[0].Video.FPS": 25}`. */
  config?: Record<string, JsonValue>;
  /** Machine name override (default derived from the serial, as devices ship). */
  name?: string;
  /** Clock for nonce expiry and lockout, so tests can move time instead of waiting. */
  clock?: () => number;
  /**
   * How far the camera's wall clock runs ahead of UTC at power-on (its time zone, or a clock set wrong);
   * the emulator keeps its clock as UTC fields, so this is how a camera east of Greenwich looks. Default 0.
   */
  clockOffsetMs?: number;
  /**
   * Records around the clock to its SD card in files of this many seconds, from power-on (as a camera set to
   * record regularly does), besides the card's few older recordings. Default: off.
   */
  sdCardContinuousSeconds?: number;
  /** The RTSP face (on by default, on its own port: `rtspPort`). */
  rtsp?: EmulatorRtspOptions | false;
  /** The firmware it reports instead of its profile's (`2.420.AC00.15.R,build:2016-03-08`), for the audit. */
  softwareVersion?: string;
  /** Security settings over the profile's defaults (config-tree.ts `SECURITY_PRESETS`); `config` still wins. */
  security?: "insecure" | "secure";
  /**
   * The port its Telnet service listens on while `Telnet.Enable` is true (0: any free port); absent, the
   * key is only a setting.
   */
  telnetPort?: number;
}

export interface EmulatorRtspOptions {
  /** 0 (default) for an ephemeral port; kept across reboots. */
  port?: number;
  /** Sessions before 403 (6 on an IPC-HDW2449TM, AlexxIT/WebRTC#959). */
  maxSessions?: number;
  /** `Session: <id>;timeout=N`, enforced (default 60 s, as Dahua firmware). */
  sessionTimeoutSeconds?: number;
  quirks?: StreamQuirks;
  /** The main stream's bitrate in bits/s, padded with filler data (default: the fixture's ~170 kbit/s). */
  mainBitrate?: number;
  /**
   * The main stream's pictures: the committed fixture (default, 640x360), `full-size`: the fixture at the
   * profile's main resolution where one is committed (the demo: the stream, the snapshot and the config all
   * say the same size), or `counter`: the tiny I_PCM encoder with the frame counter and capture clock in the
   * picture, readable back from a decoder's pixels.
   */
  mainVideo?: "fixture" | "full-size" | "counter";
  /** A stricter RTSP login than Dahua's: see `RtspServerOptions.strictAuth`. */
  strictAuth?: boolean;
  /** RTSP without a login at all (a camera whose RTSP authentication was turned off), for the audit. */
  anonymous?: boolean;
}

export interface EmulatorCounters {
  connections: number;
  peakConnections: number;
  requests: number;
  requestsByPath: Record<string, number>;
  challenges: number;
  authFailures: number;
  logins: number;
  refusedOverLimit: number;
  refusedLocked: number;
  /** Requests that reused an `nc` already used with the same nonce (a client bug). */
  ncReplays: number;
}

/** The camera's small web UI (web-page.ts), by path. */
const WEB_FILES: Record<string, { body: string; type: string }> = {
  "/": { body: WEB_PAGE, type: "text/html; charset=utf-8" },
  "/index.html": { body: WEB_PAGE, type: "text/html; charset=utf-8" },
  "/js/ui.js": { body: WEB_SCRIPT, type: "application/javascript; charset=utf-8" },
  "/css/ui.css": { body: WEB_CSS, type: "text/css; charset=utf-8" },
};

export class EmulatedCamera {
  readonly profile: Profile;
  readonly serial: string;
  readonly username: string;
  readonly config: JsonObject;
  readonly ptz: PtzState;
  readonly log = new LogBook();
  /** Recordings made before power-on, by the camera's clock then. */
  readonly sdCard: SdCard;
  readonly events: EventHub;
  /** What was sent to the speaker (audio.cgi postAudio). */
  readonly speaker = new Speaker();
  /** Doorbell presses not sent because a backchannel was open. */
  silencedPresses = 0;
  readonly auth: AuthGuard;
  /** The ONVIF face under `/onvif/` on the HTTP port. */
  readonly onvif: EmulatedOnvif;
  readonly host: string;
  port: number;
  bootedAt = Date.now();
  reboots = 0;

  /** Faults: see the control methods below. */
  stalled = false;
  /** A frozen encoder: snapshots and streams repeat the last picture, byte for byte. */
  frozen = false;
  private lastSnapshot: RenderedFrame | undefined;
  blackFrames = false;
  /** A scene for motion detection (scene-layers.ts) and when it began; undefined: the default picture. */
  sceneLayers: { layers: readonly SceneLayer[]; since: number } | undefined;
  responseDelayMs = 0;
  /** Fault: each request waits a random 0..jitterMs first, so parallel requests overtake each other. */
  jitterMs = 0;
  /** Fault: a compromised camera, answering every authenticated CGI request with this HTML page. */
  hostilePage: string | undefined;
  dropStreamsAfterFrames: number | undefined;
  /** Fault: eventManager.cgi attach answers its headers and hangs up (a stream that answers and closes). */
  hangUpEventStreams = false;

  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  readonly rtsp: EmulatedRtspServer | undefined;
  rtspPort = 0;
  private readonly videoStreams = new Map<string, EmulatedVideoStream>();
  private readonly sources = new Map<string, FrameSource>();
  private readonly renderers = new Map<string, FrameRenderer>();
  private snapshotChain: Promise<unknown> = Promise.resolve();
  private clockOffsetMs = 0;
  private listening = false;
  /** The web UI's JSON-RPC (`/RPC2_Login`, `/RPC2`). */
  readonly rpc2: EmulatedRpc2;
  /** The Telnet service (`telnetPort`), listening while `Telnet.Enable` is true. */
  readonly telnet: TelnetFace | undefined;
  private rebootTimer: NodeJS.Timeout | undefined;
  private up: Promise<void> = Promise.resolve();
  private counters: EmulatorCounters = emptyCounters();
  private readonly smtp: AlarmMailTarget | undefined;
  readonly mailErrors: Error[] = [];
  mailsSent = 0;
  private readonly pendingMails = new Set<Promise<void>>();

  constructor(readonly options: EmulatedCameraOptions) {
    this.clockOffsetMs = options.clockOffsetMs ?? 0;
    this.sdCard = new SdCard(this.cameraTime().getTime(), {
      now: () => this.cameraTime().getTime(),
      ...(options.sdCardContinuousSeconds ? { continuousSeconds: options.sdCardContinuousSeconds } : {}),
    });
    this.profile = options.softwareVersion
      ? { ...PROFILES[options.profile], softwareVersion: options.softwareVersion }
      : PROFILES[options.profile];
    const unit = options.unit ?? 0;
    this.serial = serialFor(this.profile, unit);
    this.username = options.username ?? "admin";
    this.host = options.host ?? "127.0.0.1";
    this.port = options.port ?? 0;
    this.smtp = options.smtp;
    this.config = buildConfigTree({
      profile: this.profile,
      machineName: options.name ?? defaultMachineName(this.serial),
      ipAddress: this.host,
      // Amcrest's OUI, the rest from the serial: every emulated device has its own, as devices do (discovery
      // merges answers by MAC).
      macAddress: `9c:8e:cd:${createHash("sha1").update(this.serial).digest("hex").slice(0, 6).match(/../g)?.join(":")}`,
      httpPort: this.port,
    });
    if (options.smtp) {
      this.setConfigValue("Email.Enable", true);
      this.setConfigValue("Email.Address", options.smtp.host);
      this.setConfigValue("Email.Port", options.smtp.port);
      this.setConfigValue("Email.UserName", options.smtp.username);
      this.setConfigValue("Email.Password", options.smtp.password);
    }
    if (options.security)
      for (const [path, value] of Object.entries(SECURITY_PRESETS[options.security]))
        this.setConfigValue(path, value);
    for (const [path, value] of Object.entries(options.config ?? {})) this.setConfigValue(path, value);
    this.telnet =
      options.telnetPort === undefined ? undefined : new TelnetFace(this.host, options.telnetPort);
    this.ptz = new PtzState();
    this.auth = new AuthGuard({
      scheme: this.profile.auth,
      noncePolicy: this.profile.noncePolicy,
      // Basic-only 2014 firmware says "Device_CGI"; Digest firmware says "Login to <serial>" (reference §1.2).
      realm: this.profile.auth === "basic" ? "Device_CGI" : `Login to ${this.serial}`,
      username: this.username,
      password: options.password ?? "admin",
      nonceLifetimeMs: options.nonceLifetimeMs ?? 10 * 60_000,
      staleOnNcRegression: options.ncRegression === "stale",
      lockLoginTimes: () =>
        this.configValue("General.LockLoginEnable") === false
          ? Number.POSITIVE_INFINITY
          : Number(this.configValue("General.LockLoginTimes") ?? 5),
      lockDurationMs: () =>
        options.lockDurationMs ?? Number(this.configValue("General.LoginFailLockTime") ?? 300) * 1000,
      ...(options.clock ? { now: options.clock } : {}),
    });
    this.onvif = new EmulatedOnvif(this);
    this.events = new EventHub({
      framing: this.profile.eventFraming,
      channels: this.profile.channels,
      motionCycle: options.motionCycle ?? false,
      motionEnabled: (channel) => this.configValue(`MotionDetect[${channel}].Enable`) === true,
      isStalled: () => this.stalled,
      cameraTime: () => this.cameraTime(),
      onEvent: (event) => {
        this.afterEvent(event);
        this.onvif.onEvent(event);
      },
    });
    const rtsp = options.rtsp === false ? undefined : (options.rtsp ?? {});
    if (rtsp) {
      this.rtspPort = rtsp.port ?? 0;
      const quirks = rtsp.quirks ?? {};
      this.rtsp = new EmulatedRtspServer({
        host: this.host,
        realm: `Login to ${this.serial}`,
        username: this.username,
        password: () => this.auth.currentPassword,
        maxSessions: rtsp.maxSessions ?? 6,
        sessionTimeoutSeconds: rtsp.sessionTimeoutSeconds ?? 60,
        stream: (channel, subtype) => this.videoStream(channel, subtype, quirks),
        isLocked: (address) => this.auth.isLocked(address),
        countFailure: (address) => {
          this.counters.authFailures++;
          this.auth.countFailure(address);
        },
        countSuccess: (address) => this.auth.countSuccess(address),
        dropEveryPacket: quirks.dropEveryPacket,
        garbageEveryPacket: quirks.garbageEveryPacket,
        noMarker: quirks.noMarker === true,
        strictAuth: rtsp.strictAuth === true,
        anonymous: rtsp.anonymous === true,
        speaker: (codec) => this.speaker.start(codec, 1),
      });
    }
    this.rpc2 = new EmulatedRpc2({
      serial: this.serial,
      username: this.username,
      realm: this.realm,
      deviceType: this.profile.deviceType,
      softwareVersion: this.profile.softwareVersion,
      config: this.config,
      password: () => this.auth.currentPassword,
      machineName: () => this.machineName(),
      cameraTime: () => wallClock(this.cameraTime()),
      isLocked: (address) => this.auth.isLocked(address),
      noteLogin: (ok, address, type) => this.noteLogin(ok, address, type),
      configChanged: () => this.configChanged(),
      now: options.clock ?? Date.now,
    });
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on("connection", (socket) => this.trackSocket(socket));
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  get realm(): string {
    return this.profile.auth === "basic" ? "Device_CGI" : `Login to ${this.serial}`;
  }

  async listen(): Promise<void> {
    if (this.listening) return;
    this.server.listen(this.port, this.host);
    await once(this.server, "listening");
    const address = this.server.address();
    if (address && typeof address === "object") this.port = address.port;
    this.setConfigValue("Web.Port", this.port);
    if (this.rtsp) {
      this.rtspPort = await this.rtsp.listen(this.rtspPort);
      this.setConfigValue("RTSP.Port", this.rtspPort);
    }
    this.listening = true;
    this.events.start();
    await this.configChanged();
  }

  /** After its config changed (setConfig, a restore): the services its settings switch follow them. */
  async configChanged(): Promise<void> {
    await this.telnet?.sync(this.listening && this.configValue("Telnet.Enable") === true);
  }

  /** The stream of (channel, subtype): subtype 0 the main fixture, 1 the sub one; none past the channels. */
  private videoStream(
    channel: number,
    subtype: number,
    quirks: StreamQuirks,
  ): EmulatedVideoStream | undefined {
    if (channel < 1 || channel > this.profile.channels || subtype < 0 || subtype > 1) return undefined;
    const key = `${channel}/${subtype}`;
    let stream = this.videoStreams.get(key);
    if (!stream) {
      const h265 = subtype === 0 && this.profile.mainCodec === "H.265";
      const rtsp = this.options.rtsp ? this.options.rtsp : undefined;
      const [width, height] = this.profile.mainResolution;
      const fullSize = `main-${width}x${height}.h264`;
      const file =
        subtype === 1
          ? "sub.h264"
          : h265
            ? "main.h265"
            : quirks.longGop
              ? "long-gop.h264"
              : rtsp?.mainVideo === "full-size" && hasFixture(fullSize)
                ? fullSize
                : "main.h264";
      const bitrate = subtype === 0 ? rtsp?.mainBitrate : undefined;
      const spec: VideoSourceSpec =
        subtype === 0 && !h265 && rtsp?.mainVideo === "counter"
          ? { kind: "counter", width: 640, height: 360, fps: 25, gop: quirks.longGop ? 250 : 25 }
          : { kind: "fixture", file, codec: h265 ? "h265" : "h264" };
      stream = new EmulatedVideoStream(spec, quirks, () => this.stalled, bitrate);
      this.videoStreams.set(key, stream);
    }
    return stream;
  }

  rtspCounters(): RtspCounters | undefined {
    return this.rtsp ? { ...this.rtsp.counters } : undefined;
  }

  /** Stops listening and drops every connection; the camera keeps its state (a "stop listening" fault). */
  async stopListening(): Promise<void> {
    this.events.stop();
    this.onvif.close();
    for (const source of this.sources.values()) source.close();
    this.sources.clear();
    for (const stream of this.videoStreams.values()) stream.close();
    this.videoStreams.clear();
    if (!this.listening) return;
    this.listening = false;
    await this.telnet?.sync(false);
    await this.rtsp?.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  async close(): Promise<void> {
    if (this.rebootTimer) clearTimeout(this.rebootTimer);
    this.rebootTimer = undefined;
    await this.stopListening();
    await Promise.allSettled([...this.pendingMails]);
  }

  /**
   * Reboots: every connection drops, the port refuses connections for `downMs`, and the camera comes back
   * with a new uptime, new nonces and a reboot entry in its log. Resolves when it is reachable again.
   */
  reboot(downMs = this.options.rebootDurationMs ?? 3000): Promise<void> {
    this.reboots++;
    this.up = (async () => {
      await this.stopListening();
      await new Promise<void>((resolve) => {
        this.rebootTimer = setTimeout(resolve, downMs);
      });
      this.rebootTimer = undefined;
      this.auth.resetNonces();
      this.ptz.halt();
      this.bootedAt = Date.now();
      this.addLog("Reboot", "System", { Reason: "Reboot by user" });
      await this.listen();
    })();
    return this.up;
  }

  whenUp(): Promise<void> {
    return this.up;
  }

  get isListening(): boolean {
    return this.listening;
  }

  getCounters(): EmulatorCounters {
    return {
      ...this.counters,
      requestsByPath: { ...this.counters.requestsByPath },
      connections: this.sockets.size,
    };
  }

  resetCounters(): void {
    this.counters = emptyCounters();
    this.counters.peakConnections = this.sockets.size;
  }

  cameraTime(): Date {
    return new Date(Date.now() + this.clockOffsetMs);
  }

  setCameraTime(time: Date): void {
    this.clockOffsetMs = time.getTime() - Date.now();
  }

  configValue(path: string): JsonValue | undefined {
    return getAtPath(this.config, parsePath(path));
  }

  setConfigValue(path: string, value: JsonValue): void {
    setAtPath(this.config, parsePath(path), value);
  }

  machineName(): string {
    return String(this.configValue("General.MachineName") ?? this.serial);
  }

  /** A login by another door (ONVIF's WS-Security): counted, logged and judged for lockout as CGI logins are. */
  noteLogin(ok: boolean, address: string, type: string): void {
    if (ok) {
      this.auth.countSuccess(address);
      return;
    }
    this.counters.authFailures++;
    this.auth.countFailure(address);
    this.addLog("LoginFailure", this.username, { Address: address, Type: type });
  }

  addLog(type: string, user: string, detail: Record<string, string>): void {
    this.log.add({ time: wallClock(this.cameraTime()), type, user, level: 0, detail });
  }

  // --- media ---------------------------------------------------------------------------------------------

  /** The Encode format behind (channel 1-based, subtype 0 main / n extra n), or undefined. */
  streamFormat(channel: number, subtype: number): JsonObject | undefined {
    const path =
      subtype === 0
        ? `Encode[${channel - 1}].MainFormat[0]`
        : `Encode[${channel - 1}].ExtraFormat[${subtype - 1}]`;
    const format = this.configValue(path);
    return format !== null && typeof format === "object" && !Array.isArray(format) ? format : undefined;
  }

  frameSource(channel: number, subtype: number): FrameSource {
    const key = `${channel}/${subtype}`;
    let source = this.sources.get(key);
    if (!source) {
      const video = () => (this.streamFormat(channel, subtype)?.Video ?? {}) as JsonObject;
      source = new FrameSource({
        renderer: () => this.renderer(Number(video().Width ?? 640), Number(video().Height ?? 480)),
        fps: () => Number(video().FPS ?? 15),
        scene: () => this.scene(channel),
      });
      this.sources.set(key, source);
    }
    return source;
  }

  /** One snapshot at the main stream's size; renders are serialised because a renderer reuses its buffer. */
  snapshot(channel: number): Promise<RenderedFrame> {
    const video = (this.streamFormat(channel, 0)?.Video ?? {}) as JsonObject;
    const renderer = this.renderer(Number(video.Width ?? 1280), Number(video.Height ?? 720), "snapshot");
    const frozen = this.frozen ? this.lastSnapshot : undefined;
    if (frozen) return Promise.resolve(frozen);
    const result = this.snapshotChain.then(async () => {
      this.lastSnapshot = await renderer.render(this.scene(channel));
      return this.lastSnapshot;
    });
    this.snapshotChain = result.catch(() => undefined);
    return result;
  }

  private renderer(width: number, height: number, purpose = "stream"): FrameRenderer {
    const key = `${purpose}:${width}x${height}`;
    let renderer = this.renderers.get(key);
    if (!renderer) {
      renderer = new FrameRenderer(width, height);
      this.renderers.set(key, renderer);
    }
    return renderer;
  }

  private scene(channel: number): FrameScene {
    const position = this.ptz.position();
    const title = this.configValue(`ChannelTitle[${channel - 1}].Name`);
    return {
      cameraName:
        this.profile.channels > 1 ? `${this.machineName()} ${String(title ?? channel)}` : this.machineName(),
      clockText: wallClock(this.cameraTime()),
      pan: position.pan,
      tilt: position.tilt,
      zoom: position.zoom,
      ...(this.sceneLayers
        ? { layers: this.sceneLayers.layers, sceneElapsedMs: Date.now() - this.sceneLayers.since }
        : {}),
      black:
        this.blackFrames ||
        this.events.isActive("VideoBlind", channel - 1) ||
        this.events.isActive("VideoLoss", channel - 1),
    };
  }

  // --- events and alarm mail ------------------------------------------------------------------------------

  private afterEvent(event: CameraEvent): void {
    if (event.action !== "Start" && event.action !== "Pulse") return;
    if (this.configValue("Email.Enable") !== true) return;
    const section = MAIL_SECTIONS[event.code];
    if (section && this.configValue(`${section}[${event.index}].EventHandler.MailEnable`) === false) return;
    const mail = this.sendMail(event).catch((error: unknown) => {
      this.mailErrors.push(error instanceof Error ? error : new Error(String(error)));
    });
    this.pendingMails.add(mail);
    void mail.finally(() => this.pendingMails.delete(mail));
  }

  private async sendMail(event: CameraEvent): Promise<void> {
    const time = this.cameraTime();
    const target: SmtpTarget = this.smtp ?? {
      host: String(this.configValue("Email.Address")),
      port: Number(this.configValue("Email.Port")),
      username: String(this.configValue("Email.UserName")),
      password: String(this.configValue("Email.Password")),
      secure: this.configValue("Email.SslEnable") === true,
    };
    const attach = this.configValue("Email.AttachEnable") !== false;
    const jpeg = attach ? (await this.snapshot(event.index + 1)).jpeg : undefined;
    const receivers = this.configValue("Email.Receivers");
    await sendAlarmMail(target, {
      eventName: mailEventName(event.code, this.profile.motionMailName),
      channel: event.index + 1,
      time,
      deviceName: this.machineName(),
      alarmName: "",
      ipAddress: String(this.configValue("Network.eth0.IPAddress") ?? this.host),
      from: this.smtp?.from ?? String(this.configValue("Email.SendAddress")),
      to: this.smtp?.to ?? (Array.isArray(receivers) ? receivers.map(String) : ["owner@example.org"]),
      title: String(this.configValue("Email.Title") ?? "IPC Message"),
      ...(jpeg ? { jpeg } : {}),
    });
    this.mailsSent++;
  }

  /** Resolves when every alarm mail started so far has been sent or has failed. */
  async mailsSettled(): Promise<void> {
    await Promise.allSettled([...this.pendingMails]);
  }

  // --- HTTP -----------------------------------------------------------------------------------------------

  private trackSocket(socket: Socket): void {
    this.sockets.add(socket);
    this.counters.peakConnections = Math.max(this.counters.peakConnections, this.sockets.size);
    socket.on("close", () => this.sockets.delete(socket));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? "/";
    const queryAt = target.indexOf("?");
    const path = queryAt < 0 ? target : target.slice(0, queryAt);
    this.counters.requests++;
    this.counters.requestsByPath[path] = (this.counters.requestsByPath[path] ?? 0) + 1;
    const socket = req.socket;
    if (this.responseDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.responseDelayMs));
    // Requests on separate connections are not looked at in arrival order (the firmware's worker threads).
    if (this.jitterMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * this.jitterMs));
    if (res.destroyed) return;
    const address = socket.remoteAddress ?? "unknown";

    // Out of connections, the device answers 401, not 503 (rroller/dahua#603, PF8-PV).
    if (this.sockets.size > (this.options.maxConnections ?? 10)) {
      this.counters.refusedOverLimit++;
      return this.unauthorized(res, this.auth.challenge());
    }
    // The web UI's JSON-RPC has its own login (and says "locked" in its own words); its static files need
    // none, as firmware serves them.
    if (path === "/RPC2_Login" || path === "/RPC2") return this.rpc2.handle(req, res, path, address);
    const page = WEB_FILES[path];
    if (page && (req.method === "GET" || req.method === "HEAD"))
      return replyBody(res, 200, page.body, page.type);
    if (this.auth.isLocked(address)) {
      this.counters.refusedLocked++;
      return this.unauthorized(res, this.auth.challenge());
    }
    // ONVIF has its own login check (WS-Security in the body, or Digest with its own nonces).
    if (path.startsWith("/onvif/")) {
      if (this.hostilePage !== undefined) return replyBody(res, 200, this.hostilePage, "text/html");
      return this.onvif.handle(req, res, path);
    }
    const outcome = this.auth.check(req.method ?? "GET", target, req.headers.authorization, address);
    // An unauthenticated POST to audio.cgi is dropped, not challenged (dahua-cgi.md §1.4, aiodahua):
    // a client must have its challenge from an earlier request.
    if (!outcome.ok && req.method === "POST" && path === "/cgi-bin/audio.cgi" && !req.headers.authorization) {
      socket.destroy();
      return;
    }
    if (!outcome.ok) {
      if (outcome.reason === "nc reused") this.counters.ncReplays++;
      if (outcome.failure) {
        this.counters.authFailures++;
        this.addLog("LoginFailure", this.username, { Address: address, Type: "CGI" });
      }
      return this.unauthorized(res, outcome.challenge);
    }
    if (outcome.newLogin) {
      this.counters.logins++;
      this.addLog("Login", outcome.username, { Address: address, Type: "CGI" });
    }

    const entries = parseDeviceQuery(queryAt < 0 ? "" : target.slice(queryAt + 1));
    // A repeated key: the last occurrence wins, as in the CGI parsers of embedded web servers this firmware
    // family is built on [INFERRED: no capture shows which one Dahua firmware keeps; the last is the
    // dangerous case for a gateway that judges on the first, so the emulator reproduces it].
    const params = new Map(entries);
    if (this.hostilePage !== undefined) return replyBody(res, 200, this.hostilePage, "text/html");
    const handler = routeFor(path);
    if (!handler) return replyUnsupported(res, this.profile.errorStyle);
    try {
      await handler(this, { req, res, path, action: params.get("action"), entries, params });
    } catch (error) {
      replyBody(res, 500, `Error\r\n${error instanceof Error ? error.message : String(error)}\r\n`);
    }
  }

  private unauthorized(res: ServerResponse, challenge: string): void {
    this.counters.challenges++;
    res.setHeader("WWW-Authenticate", challenge);
    replyBody(res, 401, "");
  }
}

const HANDLERS: Record<string, CameraHandler> = {
  "/cgi-bin/magicBox.cgi": handleMagicBox,
  "/cgi-bin/global.cgi": handleGlobal,
  "/cgi-bin/configManager.cgi": handleConfigManager,
  "/cgi-bin/Config.backup": handleConfigBackup,
  "/cgi-bin/snapshot.cgi": handleSnapshot,
  "/cgi-bin/mjpg/video.cgi": handleMjpeg,
  "/cgi-bin/ptz.cgi": handlePtz,
  "/cgi-bin/eventManager.cgi": handleEventManager,
  "/cgi-bin/log.cgi": handleLog,
  "/cgi-bin/mediaFileFind.cgi": handleMediaFileFind,
  "/cgi-bin/audio.cgi": handleAudio,
  "/cgi-bin/storageDevice.cgi": handleStorageDevice,
  // The ONVIF snapshot URI (GetSnapshotUri), behind the same Digest as the CGI.
  "/onvifsnapshot/media_service/snapshot": handleSnapshot,
};

function routeFor(path: string): CameraHandler | undefined {
  if (path.startsWith(`${RPC_LOADFILE}/`)) return handleRpcLoadfile;
  return HANDLERS[path];
}

/** Config sections whose EventHandler.MailEnable decides whether an event mails. */
const MAIL_SECTIONS: Record<string, string> = {
  VideoMotion: "MotionDetect",
  VideoBlind: "BlindDetect",
  VideoLoss: "LossDetect",
  AlarmLocal: "Alarm",
};

/** The `Alarm Event:` line of the mail for an event code (reference §4 body variants). */
function mailEventName(code: string, motionName: string): string {
  switch (code) {
    case "VideoMotion":
      return motionName;
    case "VideoBlind":
      return "Tamper Detect";
    case "VideoLoss":
      return "Video Loss";
    case "AlarmLocal":
      return "Local Alarm";
    case "CrossRegionDetection":
      return "Intrusion";
    case "CrossLineDetection":
      return "Tripwire";
    case "SmartMotionHuman":
      return "Smart Motion Human";
    default:
      return code;
  }
}

function emptyCounters(): EmulatorCounters {
  return {
    connections: 0,
    peakConnections: 0,
    requests: 0,
    requestsByPath: {},
    challenges: 0,
    authFailures: 0,
    logins: 0,
    refusedOverLimit: 0,
    refusedLocked: 0,
    ncReplays: 0,
  };
}
