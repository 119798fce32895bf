/**
 * A camera's ONVIF device face: an HTTP server on the camera's `onvifPort` (NVRs expect one device per
 * address) answering SOAP at `/onvif/device_service`, `/onvif/media_service`, `/onvif/ptz_service`,
 * `/onvif/events_service` and a subscription's `/onvif/subscription/<id>`. Every request is judged before
 * anything is asked of the camera: parsed (bounded, no DTD), authenticated (WS-Security or HTTP Digest),
 * the camera visible to the user, the role enough for the operation (a PTZ move needs operator).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Logger } from "pino";
import { isCameraError } from "../../camera/errors.ts";
import type { OnvifProfile } from "../../camera/onvif/onvif-camera.ts";
import { PtzCommandError } from "../../camera/ptz-command.ts";
import type { CameraEntry } from "../../camera/registry.ts";
import type { JsonValue } from "../../protocol/kv.ts";
import {
  MAX_SOAP_BYTES,
  parseSoapRequest,
  readSoapHead,
  SOAP_HEAD_BYTES,
  SoapError,
  type SoapRequest,
  soapEnvelope,
  soapFault,
} from "../../protocol/soap.ts";
import { canSeeCamera, type Principal } from "../auth/authenticator.ts";
import { roleAllows } from "../auth/roles.ts";
import type { GatewayContext } from "../context.ts";
import { type OnvifAuthenticator, type OnvifAuthResult, OPEN_OPERATIONS } from "./onvif-auth.ts";
import {
  deviceOperation,
  mediaOperation,
  type OnvifCameraView,
  OnvifFault,
  type OnvifStream,
  SERVICE_PATHS,
} from "./onvif-device.ts";
import { eventsOperation, SUBSCRIPTION_PREFIX, subscriptionOperation } from "./onvif-events.ts";
import { PTZ_CONTROL_OPERATIONS, ptzOperation } from "./onvif-ptz.ts";
import type { PullPoints } from "./pull-points.ts";

export interface OnvifFaceOptions {
  auth: OnvifAuthenticator;
  pullPoints: PullPoints;
  streamUriSeconds: number;
  /** camgate's RTSP base (`rtsp://host:8554`) for a client that reached the face at `host`; undefined when off. */
  rtspBase(host: string): string | undefined;
  /** camgate's HTTP base for such a client. */
  httpBase(host: string): string;
}

/** A request's headers, and the whole request, must have arrived within these. */
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** Connections one address may hold at once (an NVR uses one or two; a PullPoint's long poll one more). */
const MAX_CONNECTIONS_PER_ADDRESS = 16;
/** Device info and encoder settings are asked of the camera at most this often. */
const CAMERA_FACTS_TTL_MS = 60_000;
/** What an empty POST is judged as: an operation that needs credentials. */
const EMPTY_REQUEST: SoapRequest = { operation: "", body: {}, token: undefined, headers: {} };
/** Operations whose answer needs the camera's device info. */
const NEEDS_INFO = new Set(["GetDeviceInformation", "GetScopes", "GetNetworkInterfaces"]);

// A Host header is a host name, an IPv4 address or a bracketed IPv6 address, with a port.
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** The camera's H.264/H.265 streams from its Encode config (`Encode[0].MainFormat[0].Video...`). */
export function streamsFromEncode(encode: JsonValue, entry: Pick<CameraEntry, "rtsp">): OnvifStream[] {
  const channel = Array.isArray(encode) ? encode[0] : undefined;
  const subtypeOf = (path: string) => Number(/[?&]subtype=(\d+)/.exec(path)?.[1] ?? "0");
  const formatAt = (subtype: number): JsonValue | undefined => {
    if (!channel || typeof channel !== "object" || Array.isArray(channel)) return undefined;
    const list = subtype === 0 ? channel.MainFormat : channel.ExtraFormat;
    return Array.isArray(list) ? list[subtype === 0 ? 0 : subtype - 1] : undefined;
  };
  const streams: OnvifStream[] = [];
  for (const [token, path] of [
    ["main", entry.rtsp.main],
    ["sub", entry.rtsp.sub],
  ] as const) {
    const format = formatAt(subtypeOf(path));
    const video = format && typeof format === "object" && !Array.isArray(format) ? format.Video : undefined;
    if (!video || typeof video !== "object" || Array.isArray(video)) continue;
    const compression = String(video.Compression ?? "");
    // An MJPEG extra stream (the usual subtype 1 of Amcrest firmware) is not an ONVIF H.26x profile.
    const codec = compression.startsWith("H.265")
      ? "H265"
      : compression.startsWith("H.264")
        ? "H264"
        : undefined;
    if (!codec) continue;
    streams.push({
      token,
      codec,
      width: Number(video.Width) || 0,
      height: Number(video.Height) || 0,
      fps: Number(video.FPS) || 25,
      bitrateKbps: Number(video.BitRate) || 0,
    });
  }
  return streams;
}

/** An ONVIF camera's streams, from its own profiles (first = main, second = sub), H.264/H.265 only. */
export function streamsFromProfiles(profiles: readonly OnvifProfile[]): OnvifStream[] {
  const streams: OnvifStream[] = [];
  for (const [token, profile] of [
    ["main", profiles[0]],
    ["sub", profiles[1]],
  ] as const) {
    const encoding = profile?.encoding?.toUpperCase();
    const codec = encoding === "H264" ? "H264" : encoding === "H265" ? "H265" : undefined;
    if (!profile || !codec) continue;
    streams.push({
      token,
      codec,
      width: profile.width ?? 0,
      height: profile.height ?? 0,
      fps: profile.fps ?? 25,
      bitrateKbps: profile.bitrateKbps ?? 0,
    });
  }
  return streams;
}

export class OnvifFace {
  private readonly server: Server;
  private readonly log: Logger;
  private info:
    | { at: number; value: Awaited<ReturnType<GatewayContext["cameras"]["deviceInfo"]>> }
    | undefined;
  private streams: { at: number; value: OnvifStream[] } | undefined;
  /** Whether the camera can move; learnt in the background, assumed until then (GetCapabilities is open). */
  private hasPtz = true;
  private listenHost = "127.0.0.1";
  private readonly perAddress = new Map<string, number>();
  private port = 0;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly entry: CameraEntry,
    private readonly options: OnvifFaceOptions,
  ) {
    this.log = ctx.logger.child({ camera: entry.id, face: "onvif" });
    this.server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.log.error({ err: error }, "ONVIF request failed");
        if (!res.headersSent) this.send(res, 500, soapFault("Receiver", "ter:Action", "internal error"));
        else res.destroy();
      });
    });
    // A request arrives whole within seconds (a PullMessages then waits for its answer, which these do
    // not count); a client trickling its headers or body is closed, checked every second.
    this.server.requestTimeout = REQUEST_TIMEOUT_MS;
    this.server.headersTimeout = HEADERS_TIMEOUT_MS;
    this.server.maxConnections = 64;
    this.server.on("connection", (socket: Socket) => this.admit(socket));
  }

  /** At most `MAX_CONNECTIONS_PER_ADDRESS` at once from one address, so one client cannot take them all. */
  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? "unknown";
    const open = this.perAddress.get(address) ?? 0;
    if (open >= MAX_CONNECTIONS_PER_ADDRESS) {
      this.log.info({ address }, "ONVIF connection refused: too many from one address");
      socket.destroy();
      return;
    }
    this.perAddress.set(address, open + 1);
    socket.once("close", () => {
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.listenHost = host;
    this.port = (this.server.address() as AddressInfo).port;
    this.entry.ptz
      .hasPtz(1)
      .then((can) => {
        this.hasPtz = can;
      })
      .catch(() => undefined);
    return this.port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private send(
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, {
      "Content-Type": "application/soap+xml; charset=utf-8",
      "Content-Length": String(Buffer.byteLength(body)),
      ...headers,
    });
    res.end(body);
  }

  private async readBody(req: IncomingMessage): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_SOAP_BYTES) return undefined;
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  /** `http://host:port` as the client reached this face (its Host header, when it is a plain host). */
  private baseOf(req: IncomingMessage): { base: string; hostname: string } {
    const host = req.headers.host;
    const fallback = this.listenHost.includes(":")
      ? `[${this.listenHost}]:${this.port}`
      : `${this.listenHost}:${this.port}`;
    const chosen = host && HOST.test(host) ? host : fallback;
    const hostname = chosen.startsWith("[")
      ? chosen.slice(0, chosen.indexOf("]") + 1)
      : (chosen.split(":")[0] ?? "");
    return { base: `http://${chosen}`, hostname };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const service = (Object.entries(SERVICE_PATHS) as [keyof typeof SERVICE_PATHS, string][]).find(
      ([, servicePath]) => servicePath === path,
    )?.[0];
    const subscription = path.startsWith(SUBSCRIPTION_PREFIX)
      ? path.slice(SUBSCRIPTION_PREFIX.length)
      : undefined;
    if (!service && (subscription === undefined || !/^[0-9a-f]{24}$/.test(subscription))) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not an ONVIF service of camgate\n");
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405, { Allow: "POST", "Content-Type": "text/plain" }).end("SOAP requests are POSTed\n");
      return;
    }
    const text = await this.readBody(req);
    if (text === undefined) {
      this.send(res, 413, soapFault("Sender", "ter:InvalidArgs", "the request is too large"), {
        Connection: "close",
      });
      req.destroy();
      return;
    }
    // An empty POST is how Digest clients (curl) begin: they send the body after the challenge.
    if (text.trim() === "") {
      const verdict = this.options.auth.authenticate(req, EMPTY_REQUEST);
      if (!verdict.ok) return this.refuse(req, res, EMPTY_REQUEST, verdict);
    }
    // Judged before the whole body is parsed: the credentials and the operation from a bounded look at its
    // start. Without credentials only a small request of an open operation is parsed at all.
    const head = readSoapHead(text);
    const headRequest: SoapRequest = {
      operation: head.operation ?? "",
      body: {},
      token: head.token,
      headers: {},
    };
    const open = head.operation !== undefined && OPEN_OPERATIONS.has(head.operation);
    if (open && text.length > SOAP_HEAD_BYTES) {
      this.send(res, 413, soapFault("Sender", "ter:InvalidArgs", "the request is too large"));
      return;
    }
    let verdict = this.options.auth.authenticate(req, headRequest);
    if (!verdict.ok) return this.refuse(req, res, headRequest, verdict);
    let soap: SoapRequest;
    try {
      soap = parseSoapRequest(text);
    } catch (error) {
      if (!(error instanceof SoapError)) throw error;
      this.send(res, 400, soapFault("Sender", "ter:WellFormed", error.message));
      return;
    }
    // The look at the start said an open operation, the parser says another: judge that one.
    if (open && soap.operation !== head.operation) {
      verdict = this.options.auth.authenticate(req, soap);
      if (!verdict.ok) return this.refuse(req, res, soap, verdict);
    }
    try {
      const body = await this.answer(req, res, service, subscription, soap, verdict.principal);
      this.send(res, 200, soapEnvelope(body));
    } catch (error) {
      const fault = this.faultOf(error, soap.operation);
      this.send(
        res,
        fault.code === "Sender" ? 400 : 500,
        soapFault(fault.code, fault.subcode, fault.message),
      );
    }
  }

  private refuse(
    req: IncomingMessage,
    res: ServerResponse,
    soap: SoapRequest,
    verdict: Exclude<OnvifAuthResult, { ok: true }>,
  ): void {
    this.log.info(
      { operation: soap.operation, reason: verdict.reason, address: req.socket.remoteAddress },
      "ONVIF request refused",
    );
    const fault = soapFault("Sender", "ter:NotAuthorized", verdict.reason);
    if (verdict.status === 401) this.send(res, 401, fault, { "WWW-Authenticate": verdict.challenge });
    else if (verdict.status === 429)
      this.send(res, 429, fault, { "Retry-After": String(verdict.retryAfterSeconds) });
    else this.send(res, 400, fault);
  }

  private faultOf(error: unknown, operation: string): OnvifFault {
    if (error instanceof OnvifFault) return error;
    if (error instanceof PtzCommandError) return new OnvifFault("ter:InvalidArgVal", error.message);
    if (isCameraError(error)) {
      this.log.warn(
        { operation, code: error.code, err: error.message },
        "ONVIF operation failed at the camera",
      );
      return new OnvifFault("ter:Action", error.message, "Receiver");
    }
    throw error;
  }

  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    service: keyof typeof SERVICE_PATHS | undefined,
    subscription: string | undefined,
    soap: SoapRequest,
    principal: Principal | undefined,
  ): Promise<string> {
    const { operation, body } = soap;
    // An open operation (the clock, the service list) is answered without a principal and never reaches
    // the camera; everything else has one, checked here before the camera is asked anything.
    if (principal) {
      if (!canSeeCamera(principal, this.entry.id))
        throw new OnvifFault("ter:NotAuthorized", `${principal.name} may not use this camera`);
      const needed = service === "ptz" && PTZ_CONTROL_OPERATIONS.has(operation) ? "operator" : "viewer";
      if (!roleAllows(principal.role, needed))
        throw new OnvifFault("ter:NotAuthorized", `${operation} needs the ${needed} role`);
    }
    const { base, hostname } = this.baseOf(req);
    const user = principal?.name ?? "";
    const aborted = new AbortController();
    res.once("close", () => aborted.abort());
    const caller = { camera: this.entry.id, user, base, signal: aborted.signal };
    if (subscription !== undefined) {
      if (!principal) throw new OnvifFault("ter:NotAuthorized", "sign the request");
      return subscriptionOperation(this.options.pullPoints, caller, subscription, operation, body);
    }
    const signed = principal !== undefined;
    switch (service) {
      case "device":
        return deviceOperation(
          await this.view(base, hostname, signed && NEEDS_INFO.has(operation), false),
          operation,
          body,
        );
      case "media":
        return mediaOperation(await this.view(base, hostname, false, signed, user), operation, body);
      case "ptz":
        return ptzOperation(this.entry.ptz, operation, body);
      case "events":
        return eventsOperation(this.options.pullPoints, caller, operation, body);
      default:
        throw new OnvifFault("ter:ActionNotSupported", `no service at ${req.url ?? ""}`);
    }
  }

  /** The camera as the face presents it, asking the camera only for what the answer needs. */
  private async view(
    base: string,
    hostname: string,
    withInfo: boolean,
    withStreams: boolean,
    user = "",
  ): Promise<OnvifCameraView> {
    const now = Date.now();
    if (withInfo && (!this.info || now - this.info.at > CAMERA_FACTS_TTL_MS))
      this.info = { at: now, value: await this.ctx.cameras.deviceInfo(this.entry.id) };
    if (withStreams && (!this.streams || now - this.streams.at > CAMERA_FACTS_TTL_MS)) {
      const streams = this.entry.onvif
        ? streamsFromProfiles(await this.entry.onvif.listProfiles())
        : streamsFromEncode(await this.entry.api.getConfig("Encode"), this.entry);
      this.streams = { at: now, value: streams };
      this.entry.ptz
        .hasPtz(1)
        .then((can) => {
          this.hasPtz = can;
        })
        .catch(() => undefined);
    }
    const info = this.info?.value;
    const expires = Math.floor(now / 1000) + this.options.streamUriSeconds;
    const ctx = this.ctx;
    const id = this.entry.id;
    const options = this.options;
    return {
      id,
      name: this.entry.name,
      manufacturer: info?.vendor ?? "Dahua",
      model: info?.type ?? "IP camera",
      firmware: info?.softwareVersion ?? "",
      serial: info?.serial ?? id,
      streams: this.streams?.value ?? [],
      hasPtz: this.hasPtz,
      base,
      streamUriSeconds: options.streamUriSeconds,
      streamUri(token) {
        const rtsp = options.rtspBase(hostname);
        if (rtsp === undefined) return undefined;
        return `${rtsp}${ctx.signer.sign("RTSP", token === "main" ? `/${id}` : `/${id}/sub`, user, expires)}`;
      },
      snapshotUri() {
        return `${options.httpBase(hostname)}${ctx.signer.sign("GET", `/api/v1/cameras/${id}/snapshot.jpg`, user, expires)}`;
      },
    };
  }
}
