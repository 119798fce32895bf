/**
 * SOAP calls to an ONVIF device through the camera's session (its connection budget, HTTP Digest when the
 * device asks for it, lockout protection, health). Every authenticated call carries a WS-Security
 * UsernameToken digest whose `Created` is the *device's* clock: the offset is learnt from an unauthenticated
 * GetSystemDateAndTime first, because cameras are off by minutes and many mix up UTC and local time (Home
 * Assistant core #121952, agsh/onvif #249, lumeohq/onvif-rs #121), and a device refuses a token outside its
 * window (±5 min on Dahua and OpenIPC). A `ter:NotAuthorized` fault counts as a refused login, exactly as a
 * 401 does, so a wrong password costs one failed attempt per backoff whichever way the device says no.
 */
import { randomBytes } from "node:crypto";
import {
  childOf,
  parseSoapResponse,
  SoapError,
  soapEnvelope,
  textOf,
  type XmlObject,
} from "../../protocol/soap.ts";
import { usernameTokenHeader } from "../../protocol/ws-security.ts";
import type { Priority } from "../budget.ts";
import { CameraError, type CameraErrorCode } from "../errors.ts";
import type { CameraSession } from "../session.ts";

/** WSDL namespaces of the services camgate calls (the SOAP action is `<namespace>/<operation>`). */
export const ONVIF_NS = {
  device: "http://www.onvif.org/ver10/device/wsdl",
  media: "http://www.onvif.org/ver10/media/wsdl",
  ptz: "http://www.onvif.org/ver20/ptz/wsdl",
  events: "http://www.onvif.org/ver10/events/wsdl",
} as const;

/** The clock offset is learnt again after this long (cameras drift, NTP corrects them). */
const CLOCK_TTL_MS = 10 * 60_000;

export interface OnvifCall {
  /** The service's path on the device (`/onvif/device_service`), from its capabilities. */
  path: string;
  /** The action's namespace (`ONVIF_NS.media`). */
  namespace: string;
  operation: string;
  /** The body's XML, prefixes as declared by `soapEnvelope` (`<trt:GetProfiles/>`). */
  body: string;
  /** Sent without a token (GetSystemDateAndTime): devices answer it before any login. */
  anonymous?: boolean;
  priority?: Priority;
  signal?: AbortSignal;
  /** A long poll (PullMessages) may take longer than an ordinary answer. */
  timeoutMs?: number;
}

export interface OnvifAnswer {
  /** The response element without prefix (`GetProfilesResponse`). */
  operation: string;
  body: XmlObject;
}

/** What a fault's subcode means to camgate. */
function faultCode(subcode: string | undefined): CameraErrorCode {
  switch (subcode) {
    case "ActionNotSupported":
    case "NoSuchService":
    case "NotImplemented":
    case "NoProfile":
    case "NoPTZProfile":
      return "unsupported";
    case "OperationProhibited":
    case "NotAuthorized":
    case "SenderNotAuthorized":
      return "forbidden";
    default:
      return "rejected";
  }
}

const AUTH_SUBCODES = new Set([
  "NotAuthorized",
  "SenderNotAuthorized",
  "FailedAuthentication",
  "InvalidSecurityToken",
]);

/** The device's UTC time from a GetSystemDateAndTimeResponse, or undefined when it gives none usable. */
export function deviceTime(body: XmlObject): number | undefined {
  const info = childOf(body, "SystemDateAndTime");
  const read = (at: string) => {
    const date = childOf(info, at, "Date");
    const time = childOf(info, at, "Time");
    const n = (value: string | undefined) => (value === undefined ? Number.NaN : Number(value));
    const [y, mo, d] = ["Year", "Month", "Day"].map((k) => n(textOf(childOf(date, k))));
    const [h, mi, s] = ["Hour", "Minute", "Second"].map((k) => n(textOf(childOf(time, k))));
    const at_ = Date.UTC(y ?? Number.NaN, (mo ?? Number.NaN) - 1, d, h, mi, s);
    return Number.isFinite(at_) ? at_ : undefined;
  };
  // UTCDateTime is what the token is judged against. Some firmware sends only LocalDateTime (or an empty
  // UTCDateTime): then the local time is taken as UTC, which is what such firmware compares with too.
  return read("UTCDateTime") ?? read("LocalDateTime");
}

export class OnvifClient {
  /** The device's clock minus ours (ms), once learnt. */
  private offsetMs: number | undefined;
  private offsetAt = 0;
  private syncing: Promise<number> | undefined;

  constructor(
    private readonly session: CameraSession,
    /** The device service's path (`/onvif/device_service`). */
    readonly devicePath: string,
    private readonly now: () => number = Date.now,
  ) {}

  get id(): string {
    return this.session.id;
  }

  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.session.warn(message, fields);
  }

  /** The offset last learnt (for the API and the tests). */
  get clockOffsetMs(): number | undefined {
    return this.offsetMs;
  }

  /** Asks the device its time (unauthenticated) and keeps the offset; concurrent callers share one ask. */
  syncClock(priority: Priority = "background"): Promise<number> {
    this.syncing ??= this.askTime(priority).finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async askTime(priority: Priority): Promise<number> {
    const sentAt = this.now();
    const answer = await this.call({
      path: this.devicePath,
      namespace: ONVIF_NS.device,
      operation: "GetSystemDateAndTime",
      body: "<tds:GetSystemDateAndTime/>",
      anonymous: true,
      priority,
    });
    const at = deviceTime(answer.body);
    if (at === undefined)
      throw new CameraError("bad-response", this.session.id, "GetSystemDateAndTime gave no time");
    // The answer was written somewhere between sending and receiving; its clock has whole seconds.
    const receivedAt = this.now();
    this.offsetMs = at - (sentAt + receivedAt) / 2;
    this.offsetAt = receivedAt;
    return this.offsetMs;
  }

  /** One SOAP call: signed with the device's clock unless anonymous; faults become typed CameraErrors. */
  async call(call: OnvifCall): Promise<OnvifAnswer> {
    let header = "";
    if (!call.anonymous) {
      if (this.offsetMs === undefined || this.now() - this.offsetAt > CLOCK_TTL_MS)
        await this.syncClock(call.priority ?? "interactive");
      const { username, password } = this.session.credentials;
      const created = new Date(this.now() + (this.offsetMs ?? 0)).toISOString().replace(/\.\d{3}Z$/, "Z");
      header = usernameTokenHeader(username, password, created, randomBytes(16));
    }
    const body = Buffer.from(soapEnvelope(call.body, header));
    const response = await this.session.request({
      target: call.path,
      method: "POST",
      body,
      headers: {
        "content-type": `application/soap+xml; charset=utf-8; action="${call.namespace}/${call.operation}"`,
      },
      priority: call.priority ?? "interactive",
      ...(call.signal ? { signal: call.signal } : {}),
      ...(call.timeoutMs !== undefined
        ? { timeouts: { headersMs: call.timeoutMs, bodyMs: call.timeoutMs } }
        : {}),
      ...(call.anonymous ? { anonymous: true } : { refusal: (_status, text) => this.refusalIn(text) }),
    });
    if (call.anonymous && response.status === 401) {
      // This device wants even its open operations authenticated: ask again with credentials (the
      // clock is then taken as ours, the best there is before a first answer).
      this.offsetMs ??= 0;
      this.offsetAt = this.now();
      return this.call({ ...call, anonymous: false });
    }
    return this.read(call.operation, response.status, response.body);
  }

  private refusalIn(body: Buffer): string | undefined {
    try {
      const { fault } = parseSoapResponse(body.toString("utf8"));
      if (fault && fault.subcode !== undefined && AUTH_SUBCODES.has(fault.subcode)) {
        // The next try re-learns the clock first: a skewed clock looks exactly like a wrong password.
        this.offsetAt = 0;
        return `the device refused the credentials (${fault.subcode}${fault.reason ? `: ${fault.reason}` : ""})`;
      }
    } catch {
      // Not SOAP: judged by `read` below.
    }
    return undefined;
  }

  private read(operation: string, status: number, body: Buffer): OnvifAnswer {
    const camera = this.session.id;
    let message: ReturnType<typeof parseSoapResponse>;
    try {
      message = parseSoapResponse(body.toString("utf8"));
    } catch (error) {
      const reason = error instanceof SoapError ? error.message : String(error);
      const code: CameraErrorCode = status === 404 || status === 405 ? "unsupported" : "bad-response";
      throw new CameraError(code, camera, `${operation}: HTTP ${status}, ${reason}`, { status });
    }
    if (message.fault) {
      const { subcode, reason } = message.fault;
      throw new CameraError(
        faultCode(subcode),
        camera,
        `${operation}: ${subcode ?? "fault"} ${reason}`.trim(),
        {
          status,
        },
      );
    }
    if (status < 200 || status >= 300)
      throw new CameraError("bad-response", camera, `${operation}: HTTP ${status} without a fault`, {
        status,
      });
    return { operation: message.operation, body: message.body };
  }
}
