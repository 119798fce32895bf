/**
 * The WS-Discovery responder of camgate's ONVIF faces: a UDP socket on the server's listen host that
 * answers a directed (unicast) Probe with one ProbeMatches per camera face, sent back to the prober. It
 * never joins the multicast group and never sends anything unasked. A Probe is small and its answer up to
 * ~28 times larger, so a responder could reflect spoofed traffic: only probes from this host's own links
 * are answered (WS-Discovery is link-local), at most 2 per second per source and 20 in all, and datagrams
 * over 16 KiB are ignored. The per-source cap is judged first, so one flooding source (or a spoofer of
 * many far addresses) cannot use up everyone's answers.
 */
import { createHash, randomUUID } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { type NetworkInterfaceInfo, networkInterfaces } from "node:os";
import type { Logger } from "pino";
import {
  type DiscoverableDevice,
  parseProbe,
  probeMatches,
  probeWantsDevice,
} from "../../protocol/ws-discovery.ts";
import { errorText } from "../../util/error-text.ts";
import { isOnLink } from "./local-source.ts";

const MAX_DATAGRAM = 16 * 1024;
const MAX_PROBES_PER_SECOND = 20;
const MAX_PROBES_PER_SOURCE_PER_SECOND = 2;
/** Sources remembered within one second at most (a flood of spoofed sources cannot grow the map). */
const MAX_SOURCES = 1024;

/** A stable endpoint reference per camera (a name-based UUID from the camera id). */
export function endpointOf(camera: string): string {
  const hex = createHash("sha1").update(`camgate onvif ${camera}`).digest("hex");
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export class DiscoveryResponder {
  private socket: Socket | undefined;
  private readonly instanceId = Math.floor(Date.now() / 1000);
  private messageNumber = 0;
  private windowStart = 0;
  private answered = 0;
  private readonly perSource = new Map<string, number>();
  private interfacesFailed = false;

  constructor(
    /** The faces to announce, at the time of the probe (cameras come and go with reloads). */
    private readonly devices: () => DiscoverableDevice[],
    private readonly log: Logger,
    /** Whether a source is on this host's links (tests replace the host's interfaces). */
    private readonly onLink: (address: string) => boolean = (address) => this.onOwnLinks(address),
  ) {}

  private onOwnLinks(address: string): boolean {
    let interfaces: NetworkInterfaceInfo[] = [];
    try {
      interfaces = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
    } catch (error) {
      // Without the interface list (a sandbox without netlink) only loopback is known to be local.
      if (!this.interfacesFailed)
        this.log.warn(
          { err: errorText(error) },
          "WS-Discovery: cannot list interfaces; answering loopback only",
        );
      this.interfacesFailed = true;
    }
    return isOnLink(address, interfaces);
  }

  async listen(host: string, port: number): Promise<number> {
    const socket = createSocket({ type: isIPv6(host) ? "udp6" : "udp4" });
    this.socket = socket;
    socket.on("message", (message, remote) => this.onMessage(message, remote.address, remote.port));
    socket.on("error", (error) => this.log.warn({ err: error.message }, "WS-Discovery socket error"));
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    return socket.address().port;
  }

  private onMessage(message: Buffer, address: string, port: number): void {
    if (message.length > MAX_DATAGRAM || port === 0 || !this.onLink(address)) return;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.answered = 0;
      this.perSource.clear();
    }
    const fromSource = this.perSource.get(address) ?? 0;
    if (fromSource >= MAX_PROBES_PER_SOURCE_PER_SECOND || this.answered >= MAX_PROBES_PER_SECOND) return;
    const probe = parseProbe(message.toString("utf8"));
    if (!probe || !probeWantsDevice(probe)) return;
    if (this.perSource.size < MAX_SOURCES || this.perSource.has(address))
      this.perSource.set(address, fromSource + 1);
    this.answered++;
    for (const device of this.devices()) {
      this.messageNumber++;
      const answer = probeMatches(probe, device, `urn:uuid:${randomUUID()}`, {
        instanceId: this.instanceId,
        messageNumber: this.messageNumber,
      });
      this.socket?.send(answer, port, address);
    }
  }

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    return new Promise((resolve) => (socket ? socket.close(() => resolve()) : resolve()));
  }
}
