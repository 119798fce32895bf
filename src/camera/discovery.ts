/**
 * Cameras on the LAN, found without a login: Dahua's DHDiscover (what Dahua's ConfigTool sends: a DHIP probe
 * to 239.255.255.251:37810 and to broadcast) and ONVIF WS-Discovery (a Probe to 239.255.255.250:3702). From
 * each IPv4 link of this host (a socket bound to its address, so multicast and broadcast leave on that link
 * and answers come back to it), for `timeoutMs`; answers merged per device by MAC, serial or address. Sends
 * no credentials, so it cannot count toward a camera's lockout. Bounded: at most `MAX_DATAGRAMS` answers are
 * read and `MAX_DEVICES` devices kept, whatever the network sends.
 */
import { randomUUID } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { type NetworkInterfaceInfo, networkInterfaces } from "node:os";
import { DHIP_MULTICAST, DHIP_PORT, dhipSearchProbe, parseDhipDevice } from "../protocol/dhip.ts";
import {
  parseProbeMatches,
  probeMessage,
  WS_DISCOVERY_MULTICAST,
  WS_DISCOVERY_PORT,
} from "../protocol/ws-discovery.ts";
import { errorText } from "../util/error-text.ts";

export interface DiscoveredCamera {
  /** The address it answered from (what camgate would connect to). */
  address: string;
  httpPort: number | undefined;
  mac: string | undefined;
  serial: string | undefined;
  model: string | undefined;
  vendor: string | undefined;
  firmware: string | undefined;
  name: string | undefined;
  /** Its ONVIF device service, when it answered WS-Discovery. */
  onvif: string | undefined;
  /** How it was found. */
  via: ("dhdiscover" | "ws-discovery")[];
  /** The configured camera it is, when camgate has it already. */
  known: string | undefined;
}

/** A configured camera, to tell which found ones camgate has already. */
export interface KnownCamera {
  id: string;
  host: string;
  port: number;
  serial?: string | undefined;
}

export interface DiscoveryOptions {
  timeoutMs?: number;
  known?: readonly KnownCamera[];
  /** Links to probe from (default: every non-internal IPv4 address of the host). */
  interfaces?: readonly NetworkInterfaceInfo[];
  /** For tests: other ports than the protocols' own. */
  dhipPort?: number;
  wsDiscoveryPort?: number;
}

export interface DiscoveryResult {
  cameras: DiscoveredCamera[];
  /** The addresses probed from. */
  links: string[];
  /** What could not be done (a link that refused a socket), said, never thrown. */
  problems: string[];
}

const DEFAULT_TIMEOUT_MS = 3000;
const MAX_DATAGRAMS = 2048;
const MAX_DEVICES = 256;

/** The directed broadcast address of an IPv4 link (`10.1.2.255` for 10.1.2.3/24). */
export function broadcastOf(address: string, netmask: string): string | undefined {
  const a = address.split(".").map(Number);
  const m = netmask.split(".").map(Number);
  if (a.length !== 4 || m.length !== 4 || [...a, ...m].some((n) => !Number.isInteger(n))) return undefined;
  return a.map((octet, i) => (octet & (m[i] as number)) | (~(m[i] as number) & 255)).join(".");
}

function ipv4Links(): NetworkInterfaceInfo[] {
  return Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((address) => address.family === "IPv4" && !address.internal);
}

type Found = Omit<DiscoveredCamera, "known">;

/**
 * Merges an answer into what was found: the same device by MAC or serial, else by address and HTTP port (an
 * NVR, or several emulated cameras, answer for more than one device from one address).
 */
function merge(found: Found[], answer: Found): void {
  const same = found.find(
    (device) =>
      (answer.mac !== undefined && device.mac === answer.mac) ||
      (answer.serial !== undefined && device.serial === answer.serial) ||
      (device.address === answer.address &&
        (device.httpPort === undefined ||
          answer.httpPort === undefined ||
          device.httpPort === answer.httpPort)),
  );
  if (!same) {
    if (found.length < MAX_DEVICES) found.push(answer);
    return;
  }
  for (const key of ["httpPort", "mac", "serial", "model", "vendor", "firmware", "name", "onvif"] as const)
    if (same[key] === undefined) (same as Record<string, unknown>)[key] = answer[key];
  for (const via of answer.via) if (!same.via.includes(via)) same.via.push(via);
}

function knownAs(device: Found, known: readonly KnownCamera[]): string | undefined {
  return known.find(
    (camera) =>
      (device.serial !== undefined && camera.serial === device.serial) ||
      (camera.host === device.address && (device.httpPort === undefined || camera.port === device.httpPort)),
  )?.id;
}

function onvifPort(xaddr: string): number | undefined {
  try {
    const url = new URL(xaddr);
    return Number(url.port || (url.protocol === "https:" ? 443 : 80));
  } catch {
    return undefined;
  }
}

export async function discoverCameras(options: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const links = options.interfaces ?? ipv4Links();
  const dhipPort = options.dhipPort ?? DHIP_PORT;
  const wsdPort = options.wsDiscoveryPort ?? WS_DISCOVERY_PORT;
  const messageId = `urn:uuid:${randomUUID()}`;
  const found: Found[] = [];
  const problems: string[] = [];
  const sockets: Socket[] = [];
  let datagrams = 0;
  const receive = (datagram: Buffer, from: { address: string }) => {
    if (++datagrams > MAX_DATAGRAMS) return;
    const dahua = parseDhipDevice(datagram);
    if (dahua) {
      merge(found, {
        address: from.address,
        httpPort: dahua.httpPort,
        mac: dahua.mac,
        serial: dahua.serial,
        model: dahua.model,
        vendor: dahua.vendor,
        firmware: dahua.firmware,
        name: dahua.name,
        onvif: undefined,
        via: ["dhdiscover"],
      });
      return;
    }
    for (const match of parseProbeMatches(datagram.toString("utf8"), messageId)) {
      const xaddr = match.xaddrs[0] as string;
      merge(found, {
        address: from.address,
        httpPort: onvifPort(xaddr),
        mac: undefined,
        serial: undefined,
        model: match.hardware,
        vendor: undefined,
        firmware: undefined,
        name: match.name,
        onvif: xaddr,
        via: ["ws-discovery"],
      });
    }
  };
  for (const link of links) {
    const socket = createSocket({ type: "udp4" });
    socket.on("message", receive);
    // A send that fails (no route for broadcast on this link) is one probe less, never an end.
    socket.on("error", (error) => problems.push(`${link.address}: ${errorText(error)}`));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(0, link.address, () => {
          socket.off("error", reject);
          resolve();
        });
      });
      socket.setBroadcast(true);
      socket.setMulticastInterface(link.address);
      socket.setMulticastTTL(1);
    } catch (error) {
      problems.push(`${link.address}: ${errorText(error)}`);
      socket.close();
      continue;
    }
    sockets.push(socket);
    const dhip = dhipSearchProbe();
    const targets = [DHIP_MULTICAST, "255.255.255.255", broadcastOf(link.address, link.netmask)];
    for (const target of new Set(targets))
      if (target)
        socket.send(
          dhip,
          dhipPort,
          target,
          (error) => error && problems.push(`${target}: ${errorText(error)}`),
        );
    socket.send(Buffer.from(probeMessage(messageId)), wsdPort, WS_DISCOVERY_MULTICAST, (error) => {
      if (error) problems.push(`${WS_DISCOVERY_MULTICAST}: ${errorText(error)}`);
    });
  }
  await new Promise((resolve) => setTimeout(resolve, options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  for (const socket of sockets) socket.close();
  const known = options.known ?? [];
  return {
    cameras: found
      .map((device) => ({ ...device, known: knownAs(device, known) }))
      .sort(
        (a, b) =>
          a.address.localeCompare(b.address, "en", { numeric: true }) ||
          (a.httpPort ?? 0) - (b.httpPort ?? 0),
      ),
    links: links.map((link) => link.address),
    problems,
  };
}
