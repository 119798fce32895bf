/**
 * WS-Discovery (2005/04, as ONVIF Core §7 uses it): a Probe read with the SOAP parser, and the ProbeMatches
 * answer of one device, written from a template. One device per message: clients such as the npm `onvif`
 * package read one ProbeMatch per datagram. And the prober's side: a Probe for ONVIF video devices, and the
 * matches in an answer. No I/O.
 */
import { childOf, listOf, parseSoapRequest, textOf, xml } from "./soap.ts";

export const WS_DISCOVERY_PORT = 3702;
export const WS_DISCOVERY_MULTICAST = "239.255.255.250";

export interface Probe {
  messageId: string;
  /** Local names of the types asked for (`NetworkVideoTransmitter`); empty: any device. */
  types: string[];
}

export interface DiscoverableDevice {
  /** `urn:uuid:...`, stable per camera. */
  endpoint: string;
  scopes: string[];
  xaddr: string;
}

/** The types an ONVIF video device answers to. */
const DEVICE_TYPES = new Set(["NetworkVideoTransmitter", "Device"]);

/** The probe in a datagram, or undefined when it is not one. */
export function parseProbe(text: string): Probe | undefined {
  let request: ReturnType<typeof parseSoapRequest>;
  try {
    request = parseSoapRequest(text);
  } catch {
    return undefined;
  }
  if (request.operation !== "Probe") return undefined;
  const messageId = textOf(childOf(request.headers, "MessageID"))?.trim() ?? "";
  if (messageId === "" || messageId.length > 200) return undefined;
  const types = (textOf(childOf(request.body, "Types")) ?? "")
    .split(/\s+/)
    .filter(Boolean)
    .map((qname) => qname.slice(qname.indexOf(":") + 1));
  return { messageId, types };
}

/** Whether a device of ONVIF's types is what the probe asks for. */
export function probeWantsDevice(probe: Probe): boolean {
  return probe.types.length === 0 || probe.types.some((type) => DEVICE_TYPES.has(type));
}

export function probeMatches(
  probe: Probe,
  device: DiscoverableDevice,
  messageId: string,
  sequence: { instanceId: number; messageNumber: number },
): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Header><a:MessageID>${xml(messageId)}</a:MessageID><a:RelatesTo>${xml(probe.messageId)}</a:RelatesTo><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action><d:AppSequence InstanceId="${sequence.instanceId}" MessageNumber="${sequence.messageNumber}"/></s:Header><s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${xml(device.endpoint)}</a:Address></a:EndpointReference><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>${xml(device.scopes.join(" "))}</d:Scopes><d:XAddrs>${xml(device.xaddr)}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`;
}

/** A Probe for ONVIF video devices (`dn:NetworkVideoTransmitter`), as ONVIF clients send it. */
export function probeMessage(messageId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header><a:MessageID>${xml(messageId)}</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header><s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>`;
}

/** One device of a ProbeMatches answer. */
export interface ProbeMatch {
  endpoint: string;
  /** The device service addresses (`http://host/onvif/device_service`), absolute http(s) URLs only. */
  xaddrs: string[];
  scopes: string[];
  /** From the scopes: `onvif://www.onvif.org/name/...` and `.../hardware/...`, decoded. */
  name: string | undefined;
  hardware: string | undefined;
}

/** At most this many matches are read from one answer (a device sends one; a proxy a few). */
const MAX_MATCHES = 16;

function scopeValue(scopes: readonly string[], kind: string): string | undefined {
  const prefix = `onvif://www.onvif.org/${kind}/`;
  const scope = scopes.find((s) => s.toLowerCase().startsWith(prefix));
  if (!scope) return undefined;
  try {
    return decodeURIComponent(scope.slice(prefix.length)).slice(0, 128) || undefined;
  } catch {
    return undefined;
  }
}

/** The matches of a ProbeMatches answer to the probe `messageId`; empty for anything else. */
export function parseProbeMatches(text: string, messageId: string): ProbeMatch[] {
  let message: ReturnType<typeof parseSoapRequest>;
  try {
    message = parseSoapRequest(text, 64 * 1024);
  } catch {
    return [];
  }
  if (message.operation !== "ProbeMatches") return [];
  // An answer to another prober's probe (multicast answers reach everyone on some networks) is not ours.
  const relatesTo = textOf(childOf(message.headers, "RelatesTo"))?.trim();
  if (relatesTo !== undefined && relatesTo !== messageId) return [];
  return listOf(childOf(message.body, "ProbeMatch"))
    .slice(0, MAX_MATCHES)
    .flatMap((match) => {
      const endpoint = textOf(childOf(match, "EndpointReference", "Address"))?.trim() ?? "";
      const xaddrs = (textOf(childOf(match, "XAddrs")) ?? "")
        .split(/\s+/)
        .filter((url) => /^https?:\/\/[^\s/]+\//i.test(url))
        .slice(0, 8);
      const scopes = (textOf(childOf(match, "Scopes")) ?? "").split(/\s+/).filter(Boolean).slice(0, 64);
      if (endpoint === "" || xaddrs.length === 0) return [];
      return [
        {
          endpoint: endpoint.slice(0, 200),
          xaddrs,
          scopes,
          name: scopeValue(scopes, "name"),
          hardware: scopeValue(scopes, "hardware"),
        },
      ];
    });
}
