/**
 * SOAP 1.2 as ONVIF uses it: a request envelope read with a real XML parser (namespace prefixes dropped,
 * since clients pick their own), its WS-Security UsernameToken and its one body operation; responses and
 * faults written from templates with every value escaped. No I/O, no DTDs, bounded input.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { UsernameToken } from "./ws-security.ts";

export const MAX_SOAP_BYTES = 256 * 1024;

export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [key: string]: XmlValue;
}

export interface SoapRequest {
  /** The body's first element, without its prefix: `GetProfiles`. */
  operation: string;
  /** Its content as parsed (attributes as `@_name`, text as `#text` beside attributes). */
  body: XmlObject;
  token: UsernameToken | undefined;
  /** WS-Addressing headers some clients send (`To`, `Action`, `MessageID`). */
  headers: XmlObject;
}

export class SoapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SoapError";
  }
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // No entity tricks: a SOAP envelope has no DTD, and an entity definition is refused below.
  processEntities: true,
  htmlEntities: false,
});

function objectAt(value: XmlValue | undefined): XmlObject | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return objectAt(value[0]);
  return typeof value === "object" ? value : undefined;
}

/** The text of an element that may carry attributes (`<Password Type="...">x</Password>`). */
export function textOf(value: XmlValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return textOf(value[0]);
  const text = value["#text"];
  return typeof text === "string" ? text : text === undefined ? "" : textOf(text);
}

/** An element that may repeat, as a list (absent: none; once: one). */
export function listOf(value: XmlValue | undefined): XmlValue[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** An attribute of an element (of its first occurrence when it repeats). */
export function attributeOf(value: XmlValue | undefined, name: string): string | undefined {
  const found = objectAt(value)?.[`@_${name}`];
  return typeof found === "string" ? found : undefined;
}

export function childOf(value: XmlValue | undefined, ...path: string[]): XmlValue | undefined {
  let at: XmlValue | undefined = value;
  for (const name of path) at = objectAt(at)?.[name];
  return at;
}

export function parseSoapRequest(xml: string, maxBytes = MAX_SOAP_BYTES): SoapRequest {
  if (xml.length > maxBytes) throw new SoapError("the message is larger than a SOAP message can be here");
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SoapError("a SOAP message has no DTD");
  // The parser itself is lenient (`<a></b>` parses): a request must be well-formed to be judged at all.
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new SoapError(`not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let tree: XmlObject;
  try {
    tree = parser.parse(xml) as XmlObject;
  } catch (error) {
    throw new SoapError(`not XML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const envelope = objectAt(tree.Envelope);
  if (!envelope) throw new SoapError("not a SOAP envelope");
  const body = objectAt(envelope.Body);
  const operation = body ? Object.keys(body).find((key) => !key.startsWith("@_")) : undefined;
  if (!body || !operation) throw new SoapError("the SOAP body names no operation");
  const header = objectAt(envelope.Header) ?? {};
  const usernameToken = childOf(header, "Security", "UsernameToken");
  let token: UsernameToken | undefined;
  if (usernameToken !== undefined) {
    const password = childOf(usernameToken, "Password");
    token = {
      username: textOf(childOf(usernameToken, "Username")) ?? "",
      password: textOf(password) ?? "",
      type: String(objectAt(password)?.["@_Type"] ?? ""),
      nonce: textOf(childOf(usernameToken, "Nonce")),
      created: textOf(childOf(usernameToken, "Created")),
    };
  }
  return { operation, body: objectAt(body[operation]) ?? {}, token, headers: header };
}

/** How far into a request its credentials and its operation must be found (a header is a few hundred bytes). */
export const SOAP_HEAD_BYTES = 16 * 1024;

/** What a request says of itself before its whole body is parsed: its operation and its credentials. */
export interface SoapHead {
  /** The body's first element without its prefix, when it starts within the scanned bytes. */
  operation: string | undefined;
  token: UsernameToken | undefined;
}

/**
 * A bounded look at a request before the whole of it is parsed, so that unauthenticated XML costs at most
 * `SOAP_HEAD_BYTES` of parsing: the SOAP Header (it comes before the Body) is cut out of the first bytes
 * and parsed on its own, and the operation is the name of the first element in the Body. What is not
 * found there is absent; the caller then judges the request as one without credentials.
 */
export function readSoapHead(xml: string): SoapHead {
  const scan = xml.slice(0, SOAP_HEAD_BYTES);
  const operation = /<(?:[\w.-]+:)?Body\b[^>]*>\s*<(?:[\w.-]+:)?([A-Za-z_][\w.-]*)[\s/>]/.exec(scan)?.[1];
  const envelope = /<([\w.-]+:)?Envelope\b/.exec(scan);
  const headerEnd = /<\/(?:[\w.-]+:)?Header\s*>/.exec(scan);
  if (!envelope || !headerEnd) return { operation, token: undefined };
  const head = `${scan.slice(0, headerEnd.index + headerEnd[0].length)}</${envelope[1] ?? ""}Envelope>`;
  try {
    // The head alone, with an empty body added so it reads as a request: its token, nothing else.
    const withBody = head.replace(
      /<\/([\w.-]+:)?Envelope>$/,
      `<${envelope[1] ?? ""}Body><None/></${envelope[1] ?? ""}Body>$&`,
    );
    return { operation, token: parseSoapRequest(withBody, SOAP_HEAD_BYTES * 2).token };
  } catch {
    return { operation, token: undefined };
  }
}

/** A SOAP 1.2 fault as a device sent it: `ter:NotAuthorized` arrives as the subcode `NotAuthorized`. */
export interface SoapFaultInfo {
  code: string;
  /** The innermost subcode without its prefix (`NotAuthorized`, `ActionNotSupported`), if any. */
  subcode: string | undefined;
  reason: string;
}

const withoutPrefix = (name: string) => name.slice(name.indexOf(":") + 1);

/**
 * A device's answer read as a SOAP message (responses are larger than requests: profiles, capabilities),
 * with its fault, if it is one. SOAP 1.1 faults (`faultcode`/`faultstring`, some older firmware) too.
 */
export function parseSoapResponse(
  xml: string,
  maxBytes = 4 * MAX_SOAP_BYTES,
): { operation: string; body: XmlObject; fault: SoapFaultInfo | undefined } {
  const message = parseSoapRequest(xml, maxBytes);
  if (message.operation !== "Fault") return { ...message, fault: undefined };
  const fault = message.body;
  let subcode: string | undefined;
  let at = childOf(fault, "Code", "Subcode");
  // Subcodes nest (`ter:InvalidArgVal` inside `ter:InvalidArgs`); the innermost is the most specific. Bounded
  // by the message's size, which the parser already capped.
  while (at !== undefined) {
    const value = textOf(childOf(at, "Value"));
    if (value) subcode = withoutPrefix(value);
    at = childOf(at, "Subcode");
  }
  const code = textOf(childOf(fault, "Code", "Value")) ?? textOf(childOf(fault, "faultcode")) ?? "";
  const reason = textOf(childOf(fault, "Reason", "Text")) ?? textOf(childOf(fault, "faultstring")) ?? "";
  return {
    operation: "Fault",
    body: fault,
    fault: {
      code: withoutPrefix(code),
      subcode: subcode ?? (code ? withoutPrefix(code) : undefined),
      reason,
    },
  };
}

/** Escapes text for XML content and attribute values. */
export function xml(text: string | number | boolean): string {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** The namespaces ONVIF responses use, declared once on the envelope. */
const NAMESPACES: Record<string, string> = {
  s: "http://www.w3.org/2003/05/soap-envelope",
  tt: "http://www.onvif.org/ver10/schema",
  tds: "http://www.onvif.org/ver10/device/wsdl",
  trt: "http://www.onvif.org/ver10/media/wsdl",
  tptz: "http://www.onvif.org/ver20/ptz/wsdl",
  tev: "http://www.onvif.org/ver10/events/wsdl",
  wsnt: "http://docs.oasis-open.org/wsn/b-2",
  wsa: "http://www.w3.org/2005/08/addressing",
  tns1: "http://www.onvif.org/ver10/topics",
  ter: "http://www.onvif.org/ver10/error",
};

export function soapEnvelope(body: string, header = ""): string {
  const declarations = Object.entries(NAMESPACES)
    .map(([prefix, uri]) => `xmlns:${prefix}="${uri}"`)
    .join(" ");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope ${declarations}>${header ? `<s:Header>${header}</s:Header>` : ""}<s:Body>${body}</s:Body></s:Envelope>`;
}

/** A SOAP 1.2 fault with an ONVIF subcode (`ter:NotAuthorized`, `ter:ActionNotSupported`, ...). */
export function soapFault(code: "Sender" | "Receiver", subcode: string, reason: string): string {
  return soapEnvelope(
    `<s:Fault><s:Code><s:Value>s:${code}</s:Value><s:Subcode><s:Value>${xml(subcode)}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">${xml(reason)}</s:Text></s:Reason></s:Fault>`,
  );
}
