/**
 * The emulated camera's ONVIF face, on its HTTP port under `/onvif/` as Dahua and Amcrest firmware serve it
 * (quirk 14, go2rtc `pkg/onvif/README.md`): Device, Media, PTZ and Events (PullPoint) services, written
 * here from the emulator's own templates and read with fast-xml-parser directly, never with camgate's SOAP
 * code, so a bug on one side cannot hide the same bug on the other. Firmware behaviour reproduced:
 *
 * - GetSystemDateAndTime, GetCapabilities, GetServices and GetServiceCapabilities answer without login;
 *   everything else wants a WS-Security UsernameToken digest or HTTP Digest.
 * - The token's `Created` is judged against the camera's *wall clock* (±5 min), and GetSystemDateAndTime
 *   reports that wall clock as UTC: the UTC/local mix-up of Home Assistant core #121952 and OpenIPC
 *   majestic-webui #292. A client that signs with its own clock is refused once the camera's clock is
 *   off by more than the window; one that signs with the camera's clock works.
 * - A refused token is `400` with a `ter:NotAuthorized` fault, and counts toward the camera's lockout like
 *   any failed login; a nonce is accepted once.
 * - HTTP Digest on this door issues nonces of the form `base64("onvif-digest:<n>")` (dahua-protocol.md).
 * - `UserGlobal.OnvifLoginCheck = false` (Dahua's global switch) turns the login check off.
 * - Motion, tamper, video loss and alarm inputs come from the camera's event hub as PullPoint messages
 *   (`tns1:VideoSource/MotionAlarm` with `State`, HA core #37545), with the current states as
 *   `Initialized` messages first; subscriptions, queues and long polls are bounded.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { AuthGuard } from "./auth-guard.ts";
import type { EmulatedCamera } from "./camera.ts";
import type { CameraEvent } from "./event-framing.ts";
import { readRequestBody } from "./request-body.ts";

type Xml = string | { [key: string]: Xml } | Xml[];
type XmlNode = { [key: string]: Xml };

const MAX_REQUEST_BYTES = 128 * 1024;
const WINDOW_MS = 5 * 60_000;
const MAX_SUBSCRIPTIONS = 8;
const MAX_QUEUE = 100;
const MAX_PULL_MS = 60_000;
const OPEN = new Set(["GetSystemDateAndTime", "GetCapabilities", "GetServices", "GetServiceCapabilities"]);

const TOPICS: Record<string, { topic: string; item: string; source: string }> = {
  VideoMotion: { topic: "tns1:VideoSource/MotionAlarm", item: "State", source: "Source" },
  VideoBlind: { topic: "tns1:VideoSource/GlobalSceneChange/ImagingService", item: "State", source: "Source" },
  VideoLoss: { topic: "tns1:VideoSource/SignalLoss", item: "State", source: "Source" },
  AlarmLocal: { topic: "tns1:Device/Trigger/DigitalInput", item: "LogicalState", source: "InputToken" },
};

const NS =
  'xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tt="http://www.onvif.org/ver10/schema" ' +
  'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" ' +
  'xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" xmlns:tev="http://www.onvif.org/ver10/events/wsdl" ' +
  'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:wsa5="http://www.w3.org/2005/08/addressing" ' +
  'xmlns:tns1="http://www.onvif.org/ver10/topics" xmlns:ter="http://www.onvif.org/ver10/error"';

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  trimValues: true,
});

const esc = (text: string | number) =>
  String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function node(value: Xml | undefined): XmlNode | undefined {
  if (Array.isArray(value)) return node(value[0]);
  return value !== undefined && typeof value === "object" ? value : undefined;
}

function text(value: Xml | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return text(value[0]);
  const inner = value["#text"];
  return typeof inner === "string" ? inner : "";
}

const at = (value: Xml | undefined, ...path: string[]) =>
  path.reduce<Xml | undefined>((here, name) => node(here)?.[name], value);

/** `PT10S`, `PT1M`, `PT0.5S`; undefined for anything else. */
function seconds(duration: string | undefined): number | undefined {
  const match = duration ? /^PT(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(duration.trim()) : null;
  if (!match || (match[1] === undefined && match[2] === undefined)) return undefined;
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

interface Message {
  topic: string;
  time: string;
  operation: "Initialized" | "Changed";
  source: [string, string];
  data: [string, string];
}

interface Subscription {
  id: number;
  expiresAt: number;
  queue: Message[];
  wake: (() => void) | undefined;
}

class Fault extends Error {
  constructor(
    readonly subcode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface OnvifFaceCounters {
  /** Requests refused for their credentials (token or Digest). */
  refused: number;
  /** Tokens refused because their nonce was used before. */
  replays: number;
  /** Tokens refused only because `Created` was outside the window. */
  staleCreated: number;
  pulls: number;
  subscriptions: number;
}

export class EmulatedOnvif {
  readonly counters: OnvifFaceCounters = {
    refused: 0,
    replays: 0,
    staleCreated: 0,
    pulls: 0,
    subscriptions: 0,
  };
  private readonly digest: AuthGuard;
  private readonly nonces = new Map<string, number>();
  private readonly subscriptions = new Map<number, Subscription>();
  private nextSubscription = 1;

  constructor(private readonly camera: EmulatedCamera) {
    this.digest = new AuthGuard({
      scheme: "digest",
      noncePolicy: "reusable",
      realm: `Login to ${camera.serial}`,
      username: camera.username,
      password: camera.auth.currentPassword,
      nonceLifetimeMs: 10 * 60_000,
      lockLoginTimes: () => Number.POSITIVE_INFINITY,
      lockDurationMs: () => 0,
      nonceForm: (n) => Buffer.from(`onvif-digest:${n}`).toString("base64"),
    });
  }

  /** A camera event, for every open subscription. */
  onEvent(event: CameraEvent): void {
    const mapping = TOPICS[event.code];
    if (!mapping || (event.action !== "Start" && event.action !== "Stop")) return;
    this.sweep();
    for (const subscription of this.subscriptions.values()) {
      subscription.queue.push(this.message(event.code, event.index, event.action === "Start", "Changed"));
      if (subscription.queue.length > MAX_QUEUE) subscription.queue.shift();
      subscription.wake?.();
    }
  }

  /** Ends every long poll (the camera reboots or stops). */
  close(): void {
    for (const subscription of this.subscriptions.values()) subscription.wake?.();
    this.subscriptions.clear();
  }

  private message(code: string, index: number, on: boolean, operation: Message["operation"]): Message {
    const mapping = TOPICS[code] as (typeof TOPICS)[string];
    return {
      topic: mapping.topic,
      time: this.camera
        .cameraTime()
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z"),
      operation,
      source: [mapping.source, code === "AlarmLocal" ? `${index + 1}` : `VideoSource_${index + 1}`],
      data: [mapping.item, String(on)],
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const address = req.socket.remoteAddress ?? "unknown";
    let body: string;
    try {
      body = await readRequestBody(req, MAX_REQUEST_BYTES);
    } catch {
      return this.reply(res, 413, this.fault("env:Sender", "ter:InvalidArgs", "request too large"));
    }
    let operation: string;
    let request: XmlNode;
    let header: Xml | undefined;
    try {
      if (/<!DOCTYPE|<!ENTITY/i.test(body) || XMLValidator.validate(body) !== true)
        throw new Error("not XML");
      const envelope = node(at(parser.parse(body) as Xml, "Envelope"));
      const soapBody = node(envelope?.Body);
      const name = soapBody ? Object.keys(soapBody).find((key) => !key.startsWith("@_")) : undefined;
      if (!soapBody || !name) throw new Error("no operation");
      operation = name;
      request = node(soapBody[name]) ?? {};
      header = envelope?.Header;
    } catch {
      // Digest clients (curl) first send an empty body to fetch the challenge: answer it as the HTTP layer does.
      if (!req.headers.authorization) {
        res.setHeader("WWW-Authenticate", this.digest.challenge());
        return this.reply(res, 401, "");
      }
      return this.reply(
        res,
        400,
        this.fault("env:Sender", "ter:WellFormed", "the request is not a SOAP envelope"),
      );
    }
    if (!OPEN.has(operation) && this.camera.configValue("UserGlobal.OnvifLoginCheck") !== false) {
      const verdict = this.authenticate(req, header, address);
      if (verdict === "challenge") {
        res.setHeader("WWW-Authenticate", this.digest.challenge());
        return this.reply(res, 401, "");
      }
      if (verdict !== "ok") {
        this.counters.refused++;
        this.camera.noteLogin(false, address, "ONVIF");
        return this.reply(res, 400, this.fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized"));
      }
      this.camera.noteLogin(true, address, "ONVIF");
    }
    try {
      const answer = await this.operate(
        path,
        new URLSearchParams(req.url?.split("?")[1] ?? ""),
        operation,
        request,
      );
      this.reply(
        res,
        200,
        `<?xml version="1.0" encoding="UTF-8"?><env:Envelope ${NS}><env:Body>${answer}</env:Body></env:Envelope>`,
      );
    } catch (error) {
      if (error instanceof Fault)
        return this.reply(
          res,
          error.status,
          this.fault(error.status >= 500 ? "env:Receiver" : "env:Sender", error.subcode, error.message),
        );
      this.reply(res, 500, this.fault("env:Receiver", "ter:Action", String(error)));
    }
  }

  /** "ok", "challenge" (no credentials at all: ask for HTTP Digest), or the reason of a refusal. */
  private authenticate(req: IncomingMessage, header: Xml | undefined, address: string): string {
    const password = this.camera.auth.currentPassword;
    const token = at(header, "Security", "UsernameToken");
    if (token !== undefined) {
      const username = text(at(token, "Username")) ?? "";
      const digest = text(at(token, "Password")) ?? "";
      const nonce = text(at(token, "Nonce"));
      const created = text(at(token, "Created"));
      if (username !== this.camera.username || nonce === undefined || created === undefined)
        return "bad token";
      const when = Date.parse(created);
      // The firmware compares with its wall clock, which it also reports as UTC (see the header comment).
      if (!Number.isFinite(when) || Math.abs(when - this.camera.cameraTime().getTime()) > WINDOW_MS) {
        this.counters.staleCreated++;
        return "stale";
      }
      const expected = createHash("sha1")
        .update(Buffer.concat([Buffer.from(nonce, "base64"), Buffer.from(created), Buffer.from(password)]))
        .digest("base64");
      const a = Buffer.from(expected);
      const b = Buffer.from(digest);
      if (a.length !== b.length || !timingSafeEqual(a, b)) return "wrong password";
      const now = Date.now();
      for (const [seen, time] of this.nonces)
        if (now - time > 2 * WINDOW_MS || this.nonces.size > 4096) this.nonces.delete(seen);
      if (this.nonces.has(nonce)) {
        this.counters.replays++;
        return "replay";
      }
      this.nonces.set(nonce, now);
      return "ok";
    }
    const authorization = req.headers.authorization;
    if (!authorization) return "challenge";
    this.digest.setPassword(password);
    const outcome = this.digest.check(req.method ?? "POST", req.url ?? "/", authorization, address);
    return outcome.ok ? "ok" : outcome.failure ? "wrong password" : "challenge";
  }

  private reply(res: ServerResponse, status: number, body: string): void {
    if (res.headersSent || res.destroyed) return;
    const payload = Buffer.from(body);
    res.writeHead(status, {
      "Content-Type": "application/soap+xml; charset=utf-8",
      "Content-Length": payload.length,
      Connection: "close",
    });
    res.end(payload);
  }

  private fault(code: string, subcode: string, reason: string): string {
    return `<?xml version="1.0" encoding="UTF-8"?><env:Envelope ${NS}><env:Body><env:Fault><env:Code><env:Value>${code}</env:Value><env:Subcode><env:Value>${esc(subcode)}</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">${esc(reason)}</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`;
  }

  private get base(): string {
    return `http://${this.camera.host}:${this.camera.port}`;
  }

  private async operate(
    path: string,
    query: URLSearchParams,
    operation: string,
    request: XmlNode,
  ): Promise<string> {
    const camera = this.camera;
    switch (operation) {
      case "GetSystemDateAndTime": {
        const now = camera.cameraTime();
        const fields = `<tt:Time><tt:Hour>${now.getUTCHours()}</tt:Hour><tt:Minute>${now.getUTCMinutes()}</tt:Minute><tt:Second>${now.getUTCSeconds()}</tt:Second></tt:Time><tt:Date><tt:Year>${now.getUTCFullYear()}</tt:Year><tt:Month>${now.getUTCMonth() + 1}</tt:Month><tt:Day>${now.getUTCDate()}</tt:Day></tt:Date>`;
        return `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>GMT+00:00</tt:TZ></tt:TimeZone><tt:UTCDateTime>${fields}</tt:UTCDateTime><tt:LocalDateTime>${fields}</tt:LocalDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`;
      }
      case "GetCapabilities":
        return `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device><tt:XAddr>${this.base}/onvif/device_service</tt:XAddr></tt:Device><tt:Events><tt:XAddr>${this.base}/onvif/event_service</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport><tt:WSPullPointSupport>true</tt:WSPullPointSupport></tt:Events><tt:Media><tt:XAddr>${this.base}/onvif/media_service</tt:XAddr></tt:Media>${camera.profile.ptz ? `<tt:PTZ><tt:XAddr>${this.base}/onvif/ptz_service</tt:XAddr></tt:PTZ>` : ""}</tds:Capabilities></tds:GetCapabilitiesResponse>`;
      case "GetServices": {
        const service = (ns: string, name: string) =>
          `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${this.base}/onvif/${name}</tds:XAddr><tds:Version><tt:Major>2</tt:Major><tt:Minor>40</tt:Minor></tds:Version></tds:Service>`;
        return `<tds:GetServicesResponse>${service("http://www.onvif.org/ver10/device/wsdl", "device_service")}${service("http://www.onvif.org/ver10/media/wsdl", "media_service")}${service("http://www.onvif.org/ver10/events/wsdl", "event_service")}${camera.profile.ptz ? service("http://www.onvif.org/ver20/ptz/wsdl", "ptz_service") : ""}</tds:GetServicesResponse>`;
      }
      case "GetServiceCapabilities":
        return "<tds:GetServiceCapabilitiesResponse><tds:Capabilities/></tds:GetServiceCapabilitiesResponse>";
      case "GetDeviceInformation":
        return `<tds:GetDeviceInformationResponse><tds:Manufacturer>${esc(camera.profile.vendor ?? "Dahua")}</tds:Manufacturer><tds:Model>${esc(camera.profile.deviceType)}</tds:Model><tds:FirmwareVersion>${esc(camera.profile.softwareVersion.split(",")[0] ?? "")}</tds:FirmwareVersion><tds:SerialNumber>${esc(camera.serial)}</tds:SerialNumber><tds:HardwareId>${esc(camera.profile.hardwareVersion)}</tds:HardwareId></tds:GetDeviceInformationResponse>`;
      case "GetScopes":
        return `<tds:GetScopesResponse><tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>onvif://www.onvif.org/hardware/${esc(camera.profile.deviceType)}</tt:ScopeItem></tds:Scopes><tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>onvif://www.onvif.org/name/${esc(encodeURIComponent(camera.machineName()))}</tt:ScopeItem></tds:Scopes></tds:GetScopesResponse>`;
      case "GetProfiles":
        return `<trt:GetProfilesResponse>${[0, 1].map((subtype) => this.profile(subtype)).join("")}</trt:GetProfilesResponse>`;
      case "GetVideoSources": {
        const video = this.camera.streamFormat(1, 0)?.Video;
        const fields = video && typeof video === "object" && !Array.isArray(video) ? video : {};
        return `<trt:GetVideoSourcesResponse><trt:VideoSources token="000"><tt:Framerate>${Number(fields.FPS) || 25}</tt:Framerate><tt:Resolution><tt:Width>${Number(fields.Width) || 0}</tt:Width><tt:Height>${Number(fields.Height) || 0}</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`;
      }
      case "GetStreamUri":
      case "GetSnapshotUri": {
        const subtype = this.subtypeOf(text(at(request, "ProfileToken")));
        const uri =
          operation === "GetStreamUri"
            ? `rtsp://${camera.host}:${camera.rtspPort}/cam/realmonitor?channel=1&subtype=${subtype}&unicast=true&proto=Onvif`
            : `${this.base}/onvifsnapshot/media_service/snapshot?channel=1&subtype=${subtype}`;
        return `<trt:${operation}Response><trt:MediaUri><tt:Uri>${esc(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT60S</tt:Timeout></trt:MediaUri></trt:${operation}Response>`;
      }
    }
    if (path === "/onvif/ptz_service" && camera.profile.ptz) return this.ptz(operation, request);
    if (path === "/onvif/event_service" && operation === "CreatePullPointSubscription")
      return this.subscribe(request);
    if (path === "/onvif/Subscription")
      return this.subscription(Number(query.get("Idx")), operation, request);
    throw new Fault("ter:ActionNotSupported", `${operation} is not supported here`);
  }

  private subtypeOf(token: string | undefined): number {
    if (token === "MediaProfile000") return 0;
    if (token === "MediaProfile001") return 1;
    throw new Fault("ter:InvalidArgVal", "ter:NoProfile");
  }

  private profile(subtype: number): string {
    const video = this.camera.streamFormat(1, subtype)?.Video;
    const fields = video && typeof video === "object" && !Array.isArray(video) ? video : {};
    const compression = String(fields.Compression ?? "H.264");
    const encoding = compression.startsWith("H.265")
      ? "H265"
      : compression.startsWith("H.264")
        ? "H264"
        : "JPEG";
    const token = `MediaProfile00${subtype}`;
    const ptz = this.camera.profile.ptz
      ? '<tt:PTZConfiguration token="PTZToken"><tt:Name>PTZ</tt:Name><tt:NodeToken>PTZNODETOKEN</tt:NodeToken></tt:PTZConfiguration>'
      : "";
    return `<trt:Profiles token="${token}" fixed="true"><tt:Name>${token}</tt:Name><tt:VideoSourceConfiguration token="000"><tt:Name>VideoSource</tt:Name><tt:SourceToken>000</tt:SourceToken></tt:VideoSourceConfiguration><tt:VideoEncoderConfiguration token="00${subtype}"><tt:Name>VideoEncoder</tt:Name><tt:Encoding>${encoding}</tt:Encoding><tt:Resolution><tt:Width>${Number(fields.Width) || 0}</tt:Width><tt:Height>${Number(fields.Height) || 0}</tt:Height></tt:Resolution><tt:RateControl><tt:FrameRateLimit>${Number(fields.FPS) || 25}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>${Number(fields.BitRate) || 0}</tt:BitrateLimit></tt:RateControl></tt:VideoEncoderConfiguration>${ptz}</trt:Profiles>`;
  }

  private ptz(operation: string, request: XmlNode): string {
    const ptz = this.camera.ptz;
    const attribute = (value: Xml | undefined, name: string) => {
      const n = Number(node(value)?.[`@_${name}`] ?? 0);
      return Number.isFinite(n) ? Math.max(-1, Math.min(1, n)) : 0;
    };
    const presetIndex = () => {
      const token = text(at(request, "PresetToken")) ?? "";
      if (!/^\d+$/.test(token)) throw new Fault("ter:InvalidArgVal", "ter:NoToken");
      return Number(token);
    };
    switch (operation) {
      case "ContinuousMove": {
        const velocity = at(request, "Velocity");
        const timeout = seconds(text(at(request, "Timeout")));
        // Dahua runs an ONVIF continuous move as its own `Continuously` motion (speed ±8, zoom ±100).
        ptz.continuously(
          attribute(at(velocity, "PanTilt"), "x") * 8,
          attribute(at(velocity, "PanTilt"), "y") * 8,
          attribute(at(velocity, "Zoom"), "x") * 100,
          timeout ?? 0,
        );
        return "<tptz:ContinuousMoveResponse/>";
      }
      case "Stop":
        ptz.stop("Continuously");
        return "<tptz:StopResponse/>";
      case "GetPresets":
        return `<tptz:GetPresetsResponse>${ptz
          .listPresets()
          .map((p) => `<tptz:Preset token="${p.index}"><tt:Name>${esc(p.name)}</tt:Name></tptz:Preset>`)
          .join("")}</tptz:GetPresetsResponse>`;
      case "GotoPreset":
        if (!ptz.gotoPreset(presetIndex())) throw new Fault("ter:InvalidArgVal", "ter:NoToken");
        return "<tptz:GotoPresetResponse/>";
      case "SetPreset": {
        const named = text(at(request, "PresetName"));
        let index: number;
        if (at(request, "PresetToken") !== undefined) index = presetIndex();
        else {
          const used = new Set(ptz.listPresets().map((p) => p.index));
          index = 1;
          while (used.has(index) && index < 255) index++;
        }
        ptz.setPreset(index, named || undefined);
        return `<tptz:SetPresetResponse><tptz:PresetToken>${index}</tptz:PresetToken></tptz:SetPresetResponse>`;
      }
      case "RemovePreset":
        if (!ptz.clearPreset(presetIndex())) throw new Fault("ter:InvalidArgVal", "ter:NoToken");
        return "<tptz:RemovePresetResponse/>";
      case "GetStatus": {
        const position = ptz.position();
        const moving = ptz.isMoving() ? "MOVING" : "IDLE";
        return `<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position><tt:PanTilt x="${(position.pan / 180 - 1).toFixed(4)}" y="${(position.tilt / 90).toFixed(4)}"/><tt:Zoom x="${((position.zoom - 1) / 3).toFixed(4)}"/></tt:Position><tt:MoveStatus><tt:PanTilt>${moving}</tt:PanTilt><tt:Zoom>${moving}</tt:Zoom></tt:MoveStatus><tt:UtcTime>${this.camera.cameraTime().toISOString()}</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>`;
      }
      default:
        throw new Fault("ter:ActionNotSupported", `${operation} is not supported here`);
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, subscription] of this.subscriptions)
      if (subscription.expiresAt <= now) {
        subscription.wake?.();
        this.subscriptions.delete(id);
      }
  }

  private subscribe(request: XmlNode): string {
    this.sweep();
    if (this.subscriptions.size >= MAX_SUBSCRIPTIONS)
      throw new Fault("ter:TooManySubscriptions", "every PullPoint of the camera is in use", 500);
    const life = Math.min(seconds(text(at(request, "InitialTerminationTime"))) ?? 60, 3600);
    const subscription: Subscription = {
      id: this.nextSubscription++,
      expiresAt: Date.now() + life * 1000,
      queue: [],
      wake: undefined,
    };
    // The state of every topic first, as Initialized messages (ONVIF Core 9.1: property events).
    for (const code of Object.keys(TOPICS))
      for (let index = 0; index < this.camera.profile.channels; index++)
        subscription.queue.push(
          this.message(code, index, this.camera.events.isActive(code, index), "Initialized"),
        );
    this.subscriptions.set(subscription.id, subscription);
    this.counters.subscriptions++;
    return `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa5:Address>${this.base}/onvif/Subscription?Idx=${subscription.id}</wsa5:Address></tev:SubscriptionReference>${this.times(subscription)}</tev:CreatePullPointSubscriptionResponse>`;
  }

  private times(subscription: Subscription): string {
    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
    return `<wsnt:CurrentTime>${iso(Date.now())}</wsnt:CurrentTime><wsnt:TerminationTime>${iso(subscription.expiresAt)}</wsnt:TerminationTime>`;
  }

  private async subscription(id: number, operation: string, request: XmlNode): Promise<string> {
    this.sweep();
    const found = this.subscriptions.get(id);
    if (!found) throw new Fault("ter:InvalidArgVal", "no such subscription (it lapsed or was ended)");
    const subscription: Subscription = found;
    switch (operation) {
      case "PullMessages": {
        this.counters.pulls++;
        const waitMs = Math.min((seconds(text(at(request, "Timeout"))) ?? 10) * 1000, MAX_PULL_MS);
        const limit = Math.max(1, Math.min(Number(text(at(request, "MessageLimit")) ?? 10) || 10, MAX_QUEUE));
        if (subscription.queue.length === 0) {
          // One waiting pull per subscription: a second one ends the first (it gets an empty answer).
          subscription.wake?.();
          await new Promise<void>((resolve) => {
            const timer = setTimeout(
              done,
              Math.min(waitMs, Math.max(0, subscription.expiresAt - Date.now())),
            );
            function done() {
              clearTimeout(timer);
              if (subscription.wake === done) subscription.wake = undefined;
              resolve();
            }
            subscription.wake = done;
          });
        }
        const messages = subscription.queue.splice(0, limit);
        return `<tev:PullMessagesResponse>${this.times(subscription)}${messages.map((m) => `<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${m.topic}</wsnt:Topic><wsnt:Message><tt:Message UtcTime="${m.time}" PropertyOperation="${m.operation}"><tt:Source><tt:SimpleItem Name="${m.source[0]}" Value="${esc(m.source[1])}"/></tt:Source><tt:Data><tt:SimpleItem Name="${m.data[0]}" Value="${m.data[1]}"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`).join("")}</tev:PullMessagesResponse>`;
      }
      case "Renew": {
        const life = Math.min(seconds(text(at(request, "TerminationTime"))) ?? 60, 3600);
        subscription.expiresAt = Date.now() + life * 1000;
        return `<wsnt:RenewResponse>${this.times(subscription)}</wsnt:RenewResponse>`;
      }
      case "Unsubscribe":
        subscription.wake?.();
        this.subscriptions.delete(id);
        return "<wsnt:UnsubscribeResponse/>";
      default:
        throw new Fault("ter:ActionNotSupported", `${operation} is not supported on a subscription`);
    }
  }

  /** Open subscriptions (for the tests). */
  get openSubscriptions(): number {
    this.sweep();
    return this.subscriptions.size;
  }
}
