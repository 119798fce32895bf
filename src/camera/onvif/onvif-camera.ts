/**
 * A camera reached by ONVIF (`cameras[].protocol: onvif`): what camgate needs of it, in the camera layer's
 * terms. The service addresses come from GetCapabilities (open on Dahua and most firmware, quirk 14) and
 * are used by *path only*: devices behind NAT or with a second interface report an address camgate cannot
 * (or must not) reach, and camgate talks only to the host configured for the camera, never to one a device
 * names. Profiles (first = main, second = sub), stream and snapshot URIs are learnt once and again after a
 * failure; a URI's host is likewise replaced by the camera's.
 */
import {
  attributeOf,
  childOf,
  listOf,
  textOf,
  type XmlObject,
  type XmlValue,
  xml,
} from "../../protocol/soap.ts";
import type { DeviceInfo } from "../api.ts";
import type { Priority } from "../budget.ts";
import { CameraError } from "../errors.ts";
import type { CameraSession } from "../session.ts";
import { ONVIF_NS, OnvifClient } from "./onvif-client.ts";

export interface OnvifServices {
  device: string;
  media: string | undefined;
  ptz: string | undefined;
  events: string | undefined;
}

export interface OnvifProfile {
  token: string;
  name: string;
  encoding: string | undefined;
  width: number | undefined;
  height: number | undefined;
  fps: number | undefined;
  bitrateKbps: number | undefined;
  /** The PTZ configuration's token, when the profile has one. */
  ptz: string | undefined;
}

/** Where a stream is, on the camera's own host. */
export interface StreamLocation {
  port: number;
  /** Path and query, as the device gave them. */
  path: string;
}

const LEARN_TTL_MS = 10 * 60_000;

const numberAt = (value: XmlValue | undefined, ...path: string[]): number | undefined => {
  const text = textOf(childOf(value, ...path));
  const n = text === undefined || text === "" ? Number.NaN : Number(text);
  return Number.isFinite(n) ? n : undefined;
};

/** The path and query of an address a device gave (`http://10.0.0.5/onvif/media_service` → `/onvif/media_service`). */
export function pathOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  try {
    const url = new URL(address.trim().split(/\s+/)[0] ?? "");
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
}

export function profilesOf(body: XmlObject): OnvifProfile[] {
  return listOf(childOf(body, "Profiles"))
    .map((profile): OnvifProfile | undefined => {
      const token = attributeOf(profile, "token");
      if (!token) return undefined;
      const video = childOf(profile, "VideoEncoderConfiguration");
      const bitrate = numberAt(video, "RateControl", "BitrateLimit");
      return {
        token,
        name: textOf(childOf(profile, "Name")) ?? token,
        encoding: textOf(childOf(video, "Encoding")),
        width: numberAt(video, "Resolution", "Width"),
        height: numberAt(video, "Resolution", "Height"),
        fps: numberAt(video, "RateControl", "FrameRateLimit"),
        bitrateKbps: bitrate,
        ptz: attributeOf(childOf(profile, "PTZConfiguration"), "token"),
      };
    })
    .filter((profile): profile is OnvifProfile => profile !== undefined);
}

export class OnvifCamera {
  readonly client: OnvifClient;
  private services: { at: number; value: Promise<OnvifServices> } | undefined;
  private profiles: { at: number; value: Promise<OnvifProfile[]> } | undefined;
  private readonly uris = new Map<string, { at: number; value: Promise<string> }>();

  constructor(
    private readonly session: CameraSession,
    devicePath: string,
    /** The camera's RTSP port when a stream URI names none. */
    private readonly defaultRtspPort: number,
  ) {
    this.client = new OnvifClient(session, devicePath);
  }

  private get id(): string {
    return this.session.id;
  }

  /** Learns a value once per TTL; a failure is forgotten at once so the next caller asks again. */
  private cached<T>(
    slot: { at: number; value: Promise<T> } | undefined,
    keep: (entry: { at: number; value: Promise<T> }) => void,
    learn: () => Promise<T>,
  ): Promise<T> {
    if (slot && Date.now() - slot.at < LEARN_TTL_MS) return slot.value;
    const entry = { at: Date.now(), value: learn() };
    entry.value.catch(() => {
      entry.at = 0;
    });
    keep(entry);
    return entry.value;
  }

  serviceAddresses(priority: Priority = "interactive"): Promise<OnvifServices> {
    return this.cached(
      this.services,
      (entry) => {
        this.services = entry;
      },
      async () => {
        const answer = await this.client.call({
          path: this.client.devicePath,
          namespace: ONVIF_NS.device,
          operation: "GetCapabilities",
          body: "<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>",
          priority,
        });
        const caps = childOf(answer.body, "Capabilities");
        return {
          device: pathOf(textOf(childOf(caps, "Device", "XAddr"))) ?? this.client.devicePath,
          media: pathOf(textOf(childOf(caps, "Media", "XAddr"))),
          ptz: pathOf(textOf(childOf(caps, "PTZ", "XAddr"))),
          events: pathOf(textOf(childOf(caps, "Events", "XAddr"))),
        };
      },
    );
  }

  async service(name: "media" | "ptz" | "events", priority: Priority = "interactive"): Promise<string> {
    const path = (await this.serviceAddresses(priority))[name];
    if (!path) throw new CameraError("unsupported", this.id, `the device offers no ONVIF ${name} service`);
    return path;
  }

  listProfiles(priority: Priority = "interactive"): Promise<OnvifProfile[]> {
    return this.cached(
      this.profiles,
      (entry) => {
        this.profiles = entry;
      },
      async () => {
        const answer = await this.client.call({
          path: await this.service("media", priority),
          namespace: ONVIF_NS.media,
          operation: "GetProfiles",
          body: "<trt:GetProfiles/>",
          priority,
        });
        const profiles = profilesOf(answer.body);
        if (profiles.length === 0)
          throw new CameraError("bad-response", this.id, "the device lists no media profile");
        return profiles;
      },
    );
  }

  /** The profile of camgate's `main` (the first) or `sub` (the second, else the first) stream. */
  async profile(stream: "main" | "sub", priority: Priority = "interactive"): Promise<OnvifProfile> {
    const profiles = await this.listProfiles(priority);
    const chosen = stream === "sub" ? (profiles[1] ?? profiles[0]) : profiles[0];
    if (!chosen) throw new CameraError("bad-response", this.id, "the device lists no media profile");
    return chosen;
  }

  private uri(kind: "GetStreamUri" | "GetSnapshotUri", stream: "main" | "sub"): Promise<string> {
    const key = `${kind} ${stream}`;
    return this.cached(
      this.uris.get(key),
      (entry) => this.uris.set(key, entry),
      async () => {
        const profile = await this.profile(stream);
        const setup =
          kind === "GetStreamUri"
            ? "<trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>"
            : "";
        const answer = await this.client.call({
          path: await this.service("media"),
          namespace: ONVIF_NS.media,
          operation: kind,
          body: `<trt:${kind}>${setup}<trt:ProfileToken>${xml(profile.token)}</trt:ProfileToken></trt:${kind}>`,
        });
        const uri = textOf(childOf(answer.body, "MediaUri", "Uri"));
        if (!uri) throw new CameraError("bad-response", this.id, `${kind} gave no URI`);
        return uri;
      },
    );
  }

  /** Where the stream is: the device's port, path and query, on the camera's configured host. */
  async streamLocation(stream: "main" | "sub"): Promise<StreamLocation> {
    const uri = await this.uri("GetStreamUri", stream);
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new CameraError("bad-response", this.id, "GetStreamUri gave no URL");
    }
    if (url.protocol !== "rtsp:")
      throw new CameraError("unsupported", this.id, `the stream URI is ${url.protocol}, not rtsp:`);
    return { port: url.port ? Number(url.port) : this.defaultRtspPort, path: `${url.pathname}${url.search}` };
  }

  /** A JPEG from the profile's snapshot URI, fetched through the session (Digest when asked) on the camera's host. */
  async snapshot(stream: "main" | "sub" = "main", priority: Priority = "interactive"): Promise<Buffer> {
    const uri = await this.uri("GetSnapshotUri", stream);
    const target = pathOf(uri);
    if (!target) throw new CameraError("bad-response", this.id, "GetSnapshotUri gave no URL");
    // The device's port and path, on the camera's configured host (see the header).
    const port = new URL(uri).port;
    const response = await this.session.request({
      target,
      priority,
      ...(port ? { port: Number(port) } : {}),
    });
    if (response.status === 404 || response.status === 501)
      throw new CameraError("unsupported", this.id, "the snapshot URI is not served", {
        status: response.status,
      });
    if (response.status !== 200 || response.body[0] !== 0xff || response.body[1] !== 0xd8)
      throw new CameraError(
        "bad-response",
        this.id,
        `the snapshot URI gave no JPEG (HTTP ${response.status})`,
        {
          status: response.status,
        },
      );
    return response.body;
  }

  async deviceInfo(priority: Priority = "interactive"): Promise<DeviceInfo> {
    const answer = await this.client.call({
      path: this.client.devicePath,
      namespace: ONVIF_NS.device,
      operation: "GetDeviceInformation",
      body: "<tds:GetDeviceInformation/>",
      priority,
    });
    const field = (name: string) => textOf(childOf(answer.body, name)) || undefined;
    return {
      type: field("Model") ?? "ONVIF device",
      serial: field("SerialNumber") ?? "",
      softwareVersion: field("FirmwareVersion") ?? "",
      build: undefined,
      hardwareVersion: field("HardwareId"),
      vendor: field("Manufacturer"),
      machineName: undefined,
    };
  }

  /** Forgets what was learnt (a stream that would not play may have a new URI). */
  forget(): void {
    this.services = undefined;
    this.profiles = undefined;
    this.uris.clear();
  }
}
