/**
 * WS-Discovery (2005/04, as ONVIF Core §7 uses it): a Probe read with the SOAP parser, and the ProbeMatches
 * answer of one device, written from a template. One device per message: clients such as the npm `onvif`
 * package read one ProbeMatch per datagram. No I/O.
 */
import { childOf, parseSoapRequest, textOf, xml } from "./soap.ts";

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
