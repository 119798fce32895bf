/**
 * The emulator's answers to discovery, as the cameras give them: Dahua's `DHDiscover.search` on UDP 37810
 * (multicast 239.255.255.251 and broadcast; the answer, `client.notifyDevInfo` behind a DHIP header, goes
 * back to the prober's address and port; rroller/dahua's measured VTO2000A answer has the fields used here)
 * and ONVIF WS-Discovery on UDP 3702 (multicast 239.255.255.250; one ProbeMatches per camera). Off unless
 * asked (`discovery` option, `camgate emulate --discovery`): it listens on every address of the host, as a
 * camera does, which is only done in a network namespace of its own (the discovery tests make one).
 */
import { createHash, randomUUID } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { networkInterfaces } from "node:os";
import { DHIP_MULTICAST, DHIP_PORT, dhipMessage, isDhipSearch } from "../protocol/dhip.ts";
import {
  parseProbe,
  probeMatches,
  probeWantsDevice,
  WS_DISCOVERY_MULTICAST,
  WS_DISCOVERY_PORT,
} from "../protocol/ws-discovery.ts";
import type { EmulatedCamera } from "./camera.ts";

export interface EmulatorDiscoveryOptions {
  /** Default 37810. */
  dhipPort?: number;
  /** Default 3702. */
  wsDiscoveryPort?: number;
}

/** Datagrams larger than this are not probes. */
const MAX_DATAGRAM = 16 * 1024;

function uuidOf(serial: string): string {
  const hex = createHash("sha1").update(`emulated camera ${serial}`).digest("hex");
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export class EmulatorDiscovery {
  private readonly sockets: Socket[] = [];
  private messageNumber = 0;
  private readonly instanceId = Math.floor(Date.now() / 1000);

  constructor(
    private readonly cameras: readonly EmulatedCamera[],
    private readonly options: EmulatorDiscoveryOptions = {},
  ) {}

  async listen(): Promise<void> {
    await this.bind(this.options.dhipPort ?? DHIP_PORT, DHIP_MULTICAST, (datagram, reply) => {
      if (!isDhipSearch(datagram)) return;
      for (const camera of this.cameras) reply(dhipMessage(this.devInfo(camera)));
    });
    await this.bind(
      this.options.wsDiscoveryPort ?? WS_DISCOVERY_PORT,
      WS_DISCOVERY_MULTICAST,
      (datagram, reply) => {
        const probe = parseProbe(datagram.toString("utf8"));
        if (!probe || !probeWantsDevice(probe)) return;
        for (const camera of this.cameras) {
          const answer = probeMatches(
            probe,
            {
              endpoint: uuidOf(camera.serial),
              scopes: [
                "onvif://www.onvif.org/type/video_encoder",
                `onvif://www.onvif.org/hardware/${encodeURIComponent(camera.profile.deviceType)}`,
                `onvif://www.onvif.org/name/${encodeURIComponent(camera.machineName())}`,
              ],
              xaddr: `http://${camera.host}:${camera.port}/onvif/device_service`,
            },
            `urn:uuid:${randomUUID()}`,
            { instanceId: this.instanceId, messageNumber: ++this.messageNumber },
          );
          reply(Buffer.from(answer));
        }
      },
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((socket) => new Promise<void>((done) => socket.close(() => done()))));
    this.sockets.length = 0;
  }

  /** What DHDiscover answers, with the fields of the firmware's answer (rroller/dahua's VTO2000A). */
  private devInfo(camera: EmulatedCamera): unknown {
    return {
      mac: String(camera.configValue("Network.eth0.PhysicalAddress") ?? ""),
      method: "client.notifyDevInfo",
      params: {
        deviceInfo: {
          AlarmInputChannels: 1,
          AlarmOutputChannels: 1,
          DeviceClass: camera.profile.deviceType.startsWith("DHI-NVR") ? "NVR" : "IPC",
          DeviceType: camera.profile.deviceType,
          HttpPort: camera.port,
          IPv4Address: {
            DefaultGateway: "",
            DhcpEnable: false,
            IPAddress: camera.host,
            SubnetMask: "255.255.255.0",
          },
          MachineName: camera.machineName(),
          Manufacturer: camera.profile.vendor ?? "General",
          Port: 37777,
          RemoteVideoInputChannels: 0,
          SerialNo: camera.serial,
          Vendor: camera.profile.vendor ?? "General",
          Version: camera.profile.softwareVersion,
          VideoInputChannels: camera.profile.channels,
        },
      },
    };
  }

  private async bind(
    port: number,
    group: string,
    answer: (datagram: Buffer, reply: (bytes: Buffer) => void) => void,
  ): Promise<void> {
    const socket = createSocket({ type: "udp4", reuseAddr: true });
    socket.on("error", () => {});
    socket.on("message", (datagram, from) => {
      // Answered from this socket to where the probe came from; a prober gone is no error of the camera's.
      if (datagram.length <= MAX_DATAGRAM)
        answer(datagram, (bytes) => socket.send(bytes, from.port, from.address, () => {}));
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, "0.0.0.0", () => {
        socket.off("error", reject);
        resolve();
      });
    });
    // The group on every IPv4 link (a camera has one; a namespace's veth here).
    for (const addresses of Object.values(networkInterfaces()))
      for (const address of addresses ?? [])
        if (address.family === "IPv4" && !address.internal)
          try {
            socket.addMembership(group, address.address);
          } catch {
            // A link without multicast: broadcast and unicast probes still come.
          }
    this.sockets.push(socket);
  }
}
