/**
 * The Device and Media services of a camera's ONVIF face (Profile S, Media ver10), written from templates:
 * what Home Assistant's ONVIF integration and NVRs ask for (go2rtc `pkg/onvif/server.go` lists HA's
 * needs: GetSystemDateAndTime, GetCapabilities with the Media address, GetDeviceInformation with a serial
 * as the unique id, GetNetworkInterfaces, GetProfiles with H.264 and a size). Stream URIs point at camgate's
 * RTSP server with a signed, short-lived token; snapshot URIs at camgate's snapshot, signed the same way.
 * Nothing here changes the camera: no SystemReboot, no users, no settings.
 */
import { createHash } from "node:crypto";
import { childOf, textOf, type XmlObject, xml } from "../../protocol/soap.ts";

export interface OnvifStream {
  /** Profile token: `main`, `sub`. */
  token: "main" | "sub";
  codec: "H264" | "H265";
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
}

export interface OnvifCameraView {
  id: string;
  name: string;
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
  streams: OnvifStream[];
  hasPtz: boolean;
  /** `http://host:port` of this face, as the client reached it. */
  base: string;
  /** A signed RTSP URL of a stream, or undefined when camgate's RTSP server is off. */
  streamUri(token: "main" | "sub"): string | undefined;
  snapshotUri(): string;
  streamUriSeconds: number;
}

export class OnvifFault extends Error {
  constructor(
    readonly subcode: string,
    message: string,
    readonly code: "Sender" | "Receiver" = "Sender",
  ) {
    super(message);
    this.name = "OnvifFault";
  }
}

export const SERVICE_PATHS = {
  device: "/onvif/device_service",
  media: "/onvif/media_service",
  ptz: "/onvif/ptz_service",
  events: "/onvif/events_service",
} as const;

const NS = {
  device: "http://www.onvif.org/ver10/device/wsdl",
  media: "http://www.onvif.org/ver10/media/wsdl",
  ptz: "http://www.onvif.org/ver20/ptz/wsdl",
  events: "http://www.onvif.org/ver10/events/wsdl",
};

function dateTime(tag: string, at: Date): string {
  return `<tt:${tag}><tt:Time><tt:Hour>${at.getUTCHours()}</tt:Hour><tt:Minute>${at.getUTCMinutes()}</tt:Minute><tt:Second>${at.getUTCSeconds()}</tt:Second></tt:Time><tt:Date><tt:Year>${at.getUTCFullYear()}</tt:Year><tt:Month>${at.getUTCMonth() + 1}</tt:Month><tt:Day>${at.getUTCDate()}</tt:Day></tt:Date></tt:${tag}>`;
}

/** A locally administered MAC made from the camera's serial: stable, and never a real vendor's. */
function macOf(serial: string): string {
  const bytes = createHash("sha1").update(serial).digest().subarray(0, 6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfe) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

const profileName = (token: string) => (token === "main" ? "MainStream" : "SubStream");

function profile(camera: OnvifCameraView, stream: OnvifStream): string {
  const encoding = stream.codec === "H265" ? "H265" : "H264";
  const h264 =
    encoding === "H264"
      ? `<tt:H264><tt:GovLength>${stream.fps}</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>`
      : "";
  const ptz = camera.hasPtz
    ? `<tt:PTZConfiguration token="ptz"><tt:Name>PTZ</tt:Name><tt:UseCount>2</tt:UseCount><tt:NodeToken>ptz-node</tt:NodeToken><tt:DefaultContinuousPanTiltVelocitySpace>http://www.onvif.org/ver10/tptz/PanTiltSpaces/VelocityGenericSpace</tt:DefaultContinuousPanTiltVelocitySpace><tt:DefaultContinuousZoomVelocitySpace>http://www.onvif.org/ver10/tptz/ZoomSpaces/VelocityGenericSpace</tt:DefaultContinuousZoomVelocitySpace></tt:PTZConfiguration>`
    : "";
  return `<trt:Profiles token="${stream.token}" fixed="true"><tt:Name>${profileName(stream.token)}</tt:Name><tt:VideoSourceConfiguration token="vsc"><tt:Name>VideoSource</tt:Name><tt:UseCount>${camera.streams.length}</tt:UseCount><tt:SourceToken>video</tt:SourceToken><tt:Bounds x="0" y="0" width="${camera.streams[0]?.width ?? stream.width}" height="${camera.streams[0]?.height ?? stream.height}"/></tt:VideoSourceConfiguration><tt:VideoEncoderConfiguration token="vec-${stream.token}"><tt:Name>${profileName(stream.token)}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>${encoding}</tt:Encoding><tt:Resolution><tt:Width>${stream.width}</tt:Width><tt:Height>${stream.height}</tt:Height></tt:Resolution><tt:Quality>4</tt:Quality><tt:RateControl><tt:FrameRateLimit>${stream.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>${stream.bitrateKbps}</tt:BitrateLimit></tt:RateControl>${h264}<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>${ptz}</trt:Profiles>`;
}

function streamOf(camera: OnvifCameraView, body: XmlObject): OnvifStream {
  const token = textOf(childOf(body, "ProfileToken"));
  const stream = camera.streams.find((s) => s.token === token);
  if (!stream) throw new OnvifFault("ter:InvalidArgVal/ter:NoProfile", `no profile "${token ?? ""}"`);
  return stream;
}

export function deviceOperation(camera: OnvifCameraView, operation: string, _body: XmlObject): string {
  const services = {
    device: `${camera.base}${SERVICE_PATHS.device}`,
    media: `${camera.base}${SERVICE_PATHS.media}`,
    ptz: `${camera.base}${SERVICE_PATHS.ptz}`,
    events: `${camera.base}${SERVICE_PATHS.events}`,
  };
  switch (operation) {
    case "GetSystemDateAndTime": {
      const now = new Date();
      return `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>${dateTime("UTCDateTime", now)}${dateTime("LocalDateTime", now)}</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`;
    }
    case "GetCapabilities":
      return `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device><tt:XAddr>${xml(services.device)}</tt:XAddr></tt:Device><tt:Events><tt:XAddr>${xml(services.events)}</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport><tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events><tt:Media><tt:XAddr>${xml(services.media)}</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>${camera.hasPtz ? `<tt:PTZ><tt:XAddr>${xml(services.ptz)}</tt:XAddr></tt:PTZ>` : ""}</tds:Capabilities></tds:GetCapabilitiesResponse>`;
    case "GetServices": {
      const service = (ns: string, address: string, major: number, minor: number) =>
        `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${xml(address)}</tds:XAddr><tds:Version><tt:Major>${major}</tt:Major><tt:Minor>${minor}</tt:Minor></tds:Version></tds:Service>`;
      return `<tds:GetServicesResponse>${service(NS.device, services.device, 2, 40)}${service(NS.media, services.media, 2, 40)}${service(NS.events, services.events, 2, 40)}${camera.hasPtz ? service(NS.ptz, services.ptz, 2, 40) : ""}</tds:GetServicesResponse>`;
    }
    case "GetServiceCapabilities":
      return `<tds:GetServiceCapabilitiesResponse><tds:Capabilities><tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false"/><tds:Security UsernameToken="true" HttpDigest="true" TLS1.2="false"/><tds:System DiscoveryResolve="false" DiscoveryBye="false" RemoteDiscovery="false" SystemBackup="false" SystemLogging="false" FirmwareUpgrade="false"/></tds:Capabilities></tds:GetServiceCapabilitiesResponse>`;
    case "GetDeviceInformation":
      return `<tds:GetDeviceInformationResponse><tds:Manufacturer>${xml(camera.manufacturer)}</tds:Manufacturer><tds:Model>${xml(camera.model)}</tds:Model><tds:FirmwareVersion>${xml(camera.firmware)}</tds:FirmwareVersion><tds:SerialNumber>${xml(camera.serial)}</tds:SerialNumber><tds:HardwareId>${xml(camera.id)}</tds:HardwareId></tds:GetDeviceInformationResponse>`;
    case "GetScopes": {
      const scopes = [
        "onvif://www.onvif.org/type/video_encoder",
        "onvif://www.onvif.org/Profile/Streaming",
        `onvif://www.onvif.org/name/${encodeURIComponent(camera.name)}`,
        `onvif://www.onvif.org/hardware/${encodeURIComponent(camera.model)}`,
      ];
      return `<tds:GetScopesResponse>${scopes.map((scope) => `<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>${xml(scope)}</tt:ScopeItem></tds:Scopes>`).join("")}</tds:GetScopesResponse>`;
    }
    case "GetNetworkInterfaces":
      return `<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>${macOf(camera.serial)}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>`;
    case "GetHostname":
      return `<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP><tt:Name>${xml(camera.id)}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>`;
    default:
      throw new OnvifFault("ter:ActionNotSupported", `camgate's ONVIF face does not do ${operation}`);
  }
}

export function mediaOperation(camera: OnvifCameraView, operation: string, body: XmlObject): string {
  switch (operation) {
    case "GetProfiles":
      return `<trt:GetProfilesResponse>${camera.streams.map((s) => profile(camera, s)).join("")}</trt:GetProfilesResponse>`;
    case "GetProfile":
      return `<trt:GetProfileResponse>${profile(camera, streamOf(camera, body))
        .replace(/^<trt:Profiles /, "<trt:Profile ")
        .replace(/<\/trt:Profiles>$/, "</trt:Profile>")}</trt:GetProfileResponse>`;
    case "GetVideoSources": {
      const main = camera.streams[0];
      return `<trt:GetVideoSourcesResponse><trt:VideoSources token="video"><tt:Framerate>${main?.fps ?? 25}</tt:Framerate><tt:Resolution><tt:Width>${main?.width ?? 0}</tt:Width><tt:Height>${main?.height ?? 0}</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`;
    }
    case "GetStreamUri": {
      const stream = streamOf(camera, body);
      const uri = camera.streamUri(stream.token);
      if (!uri)
        throw new OnvifFault(
          "ter:InvalidArgVal/ter:InvalidStreamSetup",
          "camgate's RTSP server is off (server.rtsp)",
          "Receiver",
        );
      return `<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>${xml(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>true</tt:InvalidAfterReboot><tt:Timeout>PT${camera.streamUriSeconds}S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>`;
    }
    case "GetSnapshotUri":
      streamOf(camera, body);
      return `<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>${xml(camera.snapshotUri())}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>true</tt:InvalidAfterReboot><tt:Timeout>PT${camera.streamUriSeconds}S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>`;
    case "GetServiceCapabilities":
      return `<trt:GetServiceCapabilitiesResponse><trt:Capabilities SnapshotUri="true" Rotation="false" VideoSourceMode="false" OSD="false"><trt:ProfileCapabilities MaximumNumberOfProfiles="${camera.streams.length}"/><trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true" NonAggregateControl="false"/></trt:Capabilities></trt:GetServiceCapabilitiesResponse>`;
    default:
      throw new OnvifFault("ter:ActionNotSupported", `camgate's ONVIF face does not do ${operation}`);
  }
}
