/**
 * Dahua's discovery (`DHDiscover.search` on UDP 37810, what Dahua's ConfigTool sends), no I/O.
 *
 * The JSON travels behind a 32-byte DHIP header; bare JSON gets no answer (rroller/dahua,
 * custom_components/dahua/discovery.py, measured on a VTO2000A, a DHI-NVR5464 and VTH5221D monitors):
 *
 *     0..4    header size, little endian (32)
 *     4..8    "DHIP" as bytes (packing 0x44484950 little endian gives "PIHD": only some devices answer that)
 *     8..16   session and request id (zero for discovery)
 *     16..24  payload length, little endian 64 bit
 *     24..32  payload length again
 *
 * Probes go to 239.255.255.251:37810 and to broadcast; a device answers to the probe's source address and
 * port with the same header and `{"mac":..., "method":"client.notifyDevInfo", "params":{"deviceInfo":{...}}}`
 * (an Intelbras SS 3530 MF FACE W's answer, kept in test/fixtures/dhip/, has DeviceType, SerialNo, Version,
 * HttpPort, IPv4Address.IPAddress). The header's length has varied across firmware, so a reply's JSON is
 * found from its first `{` (rroller/dahua does the same).
 */

export const DHIP_PORT = 37810;
export const DHIP_MULTICAST = "239.255.255.251";
const HEADER_BYTES = 32;
const MAGIC = Buffer.from("DHIP", "latin1");
/** A device's answer is a few KiB; a datagram larger than this is not one. */
const MAX_MESSAGE_BYTES = 64 * 1024;

/** One DHIP message: the 32-byte header, then the JSON. */
export function dhipMessage(body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body), "utf8");
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(HEADER_BYTES, 0);
  MAGIC.copy(header, 4);
  header.writeBigUInt64LE(BigInt(json.length), 16);
  header.writeBigUInt64LE(BigInt(json.length), 24);
  return Buffer.concat([header, json]);
}

/** The probe Dahua's ConfigTool sends (any device; `uni: 1` asks for a unicast answer). */
export function dhipSearchProbe(): Buffer {
  return dhipMessage({ method: "DHDiscover.search", params: { mac: "", uni: 1 } });
}

/** The JSON of a DHIP datagram, or undefined when it is not one. */
export function readDhip(datagram: Buffer): Record<string, unknown> | undefined {
  if (datagram.length < HEADER_BYTES || datagram.length > MAX_MESSAGE_BYTES) return undefined;
  if (!datagram.subarray(4, 8).equals(MAGIC)) return undefined;
  const start = datagram.indexOf(0x7b, 8);
  if (start < 0) return undefined;
  try {
    const value: unknown = JSON.parse(datagram.toString("utf8", start).replace(/\0+$/, ""));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a DHIP datagram is a discovery search (what a device answers). */
export function isDhipSearch(datagram: Buffer): boolean {
  return readDhip(datagram)?.method === "DHDiscover.search";
}

/** What a device says of itself, as camgate uses it. */
export interface DhipDevice {
  serial: string | undefined;
  model: string | undefined;
  /** IPC, VTO, NVR, ... */
  deviceClass: string | undefined;
  vendor: string | undefined;
  firmware: string | undefined;
  /** Lower case, colon separated. */
  mac: string | undefined;
  address: string | undefined;
  httpPort: number | undefined;
  name: string | undefined;
}

const text = (value: unknown, max = 128): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, max) : undefined;

const port = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isInteger(value) && value > 0 && value < 65536 ? value : undefined;

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A device's `client.notifyDevInfo` answer; undefined for anything else (or one naming neither serial nor model). */
export function parseDhipDevice(datagram: Buffer): DhipDevice | undefined {
  const message = readDhip(datagram);
  const params = message?.params;
  const info =
    typeof params === "object" && params !== null
      ? (params as Record<string, unknown>).deviceInfo
      : undefined;
  if (typeof info !== "object" || info === null || Array.isArray(info)) return undefined;
  const fields = info as Record<string, unknown>;
  const ipv4 = fields.IPv4Address;
  const address =
    typeof ipv4 === "object" && ipv4 !== null
      ? text((ipv4 as Record<string, unknown>).IPAddress, 45)
      : undefined;
  const mac = text(message?.mac, 17)?.toLowerCase();
  const device: DhipDevice = {
    serial: text(fields.SerialNo),
    model: text(fields.DeviceType),
    deviceClass: text(fields.DeviceClass, 32),
    vendor: text(fields.Vendor) ?? text(fields.Manufacturer),
    firmware: text(fields.Version),
    mac: mac !== undefined && MAC.test(mac) ? mac : undefined,
    address,
    httpPort: port(fields.HttpPort),
    name: text(fields.MachineName),
  };
  return device.serial || device.model ? device : undefined;
}
