/** What an audit gathers about one camera before judging it (`findings.ts`); no I/O here. */
import type { JsonValue } from "../protocol/kv.ts";
import type { DeviceIdentity } from "./advisory-match.ts";

/** How a door of the camera answered a request without credentials (one request per door). */
export type DoorAnswer =
  /** It asked for credentials (401, a SOAP NotAuthorized fault): as it should. */
  | "refused"
  /** It answered with what should have needed credentials. */
  | "open"
  /** Nothing listens there, or it could not be reached. */
  | "unreachable"
  /** Not asked (the camera has no such door configured, or the audit was told not to). */
  | "skipped";

export type PortName = "telnet" | "ssh" | "dvrip" | "https" | "rtmp";

export interface OpenDoors {
  cgi: DoorAnswer;
  /** The authentication schemes the camera offered to the request without credentials. */
  schemes: string[];
  rtsp: DoorAnswer;
  onvif: DoorAnswer;
  /** Which of the camera's well-known ports accept a TCP connection (nothing is sent on them). */
  ports: Record<PortName, "open" | "closed" | "skipped">;
  /** The port each was probed on (its well-known number unless the config says otherwise). */
  portNumbers?: Partial<Record<PortName, number>>;
}

/** The config sections an audit reads; a section the firmware lacks is absent from `AuditFacts.config`. */
export const AUDITED_SECTIONS = [
  "General",
  "T2UServer",
  "UPnP",
  "DDNS",
  "Telnet",
  "UserGlobal",
  "Email",
  "NTP",
  "AutoMaintain",
] as const;
export type AuditedSection = (typeof AUDITED_SECTIONS)[number];

export interface AuditFacts {
  device: DeviceIdentity;
  config: Partial<Record<AuditedSection, JsonValue>>;
  /** Camera clock minus camgate's, ms (undefined: not read). */
  clockOffsetMs: number | undefined;
  doors: OpenDoors;
  /** camgate's own settings for this camera, judged locally (a password is never tried on the camera). */
  local: { username: string; password: string; scheme: "http" | "https"; host: string };
  /** When the facts were gathered, for the firmware's age. */
  at: Date;
}
