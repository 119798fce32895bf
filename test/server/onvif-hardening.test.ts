/**
 * The ONVIF face against hostile clients (issue 28): credentials are judged before a body is parsed (so
 * unauthenticated XML costs a bounded look, never a full parse), a request trickled in is closed within
 * seconds, and one address cannot take every connection.
 */
import { randomUUID } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isOnLink } from "../../src/server/onvif/local-source.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/http.ts";

let gateway: TestGateway;
let onvifPort: number;

beforeAll(async () => {
  onvifPort = await freePort();
  gateway = await startTestGateway({
    cameras: [{ id: "yard", profile: "amcrest-ip2m-841b", config: { onvifPort } }],
    users: [{ name: "olga", role: "operator", password: "olga-password-7731" }],
    server: {
      rtsp: { listen: "127.0.0.1:0" },
      onvif: { discoveryPort: 0 },
      authRateLimit: { failures: 1000, windowSeconds: 60 },
    },
  });
});

afterAll(async () => {
  await gateway?.close();
});

/** Sends raw bytes and resolves with everything the face answered once it closes (or after `ms`). */
function exchange(bytes: string, ms = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: onvifPort });
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    socket.end(bytes);
  });
}

const post = (body: string) =>
  `POST /onvif/device_service HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/soap+xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

describe("the ONVIF face against hostile clients", () => {
  it("judges credentials before parsing: 240 kB of broken XML without them is 401, not a parse error", async () => {
    const broken = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetDeviceInformation>${"<a>".repeat(80_000)}</s:Body></s:Envelope>`;
    const answer = await exchange(post(broken));
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    expect(answer).not.toContain("WellFormed");
  });

  it("parses an open operation only when it is small", async () => {
    const clock = (padding: number) =>
      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl">${" ".repeat(padding)}</GetSystemDateAndTime></s:Body></s:Envelope>`;
    expect(await exchange(post(clock(0)))).toMatch(/^HTTP\/1\.1 200[\s\S]*UTCDateTime/);
    expect(await exchange(post(clock(100_000)))).toMatch(/^HTTP\/1\.1 413/);
  });

  it("closes a connection that trickles its request, within seconds", async () => {
    const socket = connect({ host: "127.0.0.1", port: onvifPort });
    socket.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write("POST /onvif/device_service HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    // A header line a second, as a slow-loris client sends them: never a whole request.
    const trickle = setInterval(() => socket.write(`X-Slow: ${Date.now()}\r\n`), 1000);
    const started = Date.now();
    await closed;
    clearInterval(trickle);
    // The face allows 5 s for the headers (checked every second); before, it allowed 90 s for a request.
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 20_000);

  it("lets one address hold 16 connections at once, no more; the others are unaffected", async () => {
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const socket = connect({ host: "127.0.0.1", port: onvifPort });
        socket.on("error", () => undefined);
        await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
        sockets.push(socket);
      }
      const extra = connect({ host: "127.0.0.1", port: onvifPort });
      extra.on("error", () => undefined);
      await new Promise<void>((resolve) => extra.once("close", () => resolve()));
      expect(sockets.every((socket) => !socket.destroyed)).toBe(true);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    // Once they are gone, the address may connect again.
    await waitFor(
      async () => ((await exchange(post("<x/>"), 3000)).startsWith("HTTP/1.1") ? true : undefined),
      5000,
      "a connection to be answered again",
    );
  });
});

describe("WS-Discovery against spoofed probes", () => {
  const probe = () =>
    `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><Header><wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:uuid:${randomUUID()}</wsa:MessageID><wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action></Header><Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><Types>dn:NetworkVideoTransmitter</Types></Probe></Body></Envelope>`;

  async function prober(address: string): Promise<{ socket: UdpSocket; answers: () => number }> {
    const socket = createSocket("udp4");
    let answers = 0;
    socket.on("message", () => answers++);
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    return { socket, answers: () => answers };
  }

  it("answers one source at most twice a second, and another source still gets its answers", async () => {
    const port = gateway.camgate.onvifDiscoveryPort ?? 0;
    const flooder = await prober("127.0.0.1");
    const other = await prober("127.0.0.2");
    try {
      for (let i = 0; i < 6; i++) flooder.socket.send(probe(), port, "127.0.0.1");
      other.socket.send(probe(), port, "127.0.0.1");
      await waitFor(() => (other.answers() === 1 ? true : undefined), 5000, "the other source's answer");
      await waitFor(() => (flooder.answers() >= 2 ? true : undefined), 5000, "the flooder's answers");
      // One more round trip from the other source: the flooder's answers, had there been more, came first.
      other.socket.send(probe(), port, "127.0.0.1");
      await waitFor(() => (other.answers() === 2 ? true : undefined), 5000, "the other source's 2nd answer");
      expect(flooder.answers()).toBe(2);
    } finally {
      flooder.socket.close();
      other.socket.close();
    }
  });

  it("takes a probe only from this host's links (spoofed far sources are ignored)", () => {
    const interfaces = [
      {
        address: "192.168.1.20",
        netmask: "255.255.255.0",
        family: "IPv4",
        mac: "",
        internal: false,
        cidr: null,
      },
      {
        address: "2001:db8:1:2::20",
        netmask: "ffff:ffff:ffff:ffff::",
        family: "IPv6",
        mac: "",
        internal: false,
        cidr: null,
        scopeid: 0,
      },
    ] as const;
    const list = interfaces as unknown as Parameters<typeof isOnLink>[1];
    for (const near of [
      "127.0.0.1",
      "127.8.9.1",
      "192.168.1.77",
      "::ffff:192.168.1.5",
      "::1",
      "fe80::1%eth0",
      "2001:db8:1:2::99",
    ])
      expect(isOnLink(near, list), near).toBe(true);
    for (const far of [
      "192.168.2.1",
      "8.8.8.8",
      "10.0.0.1",
      "::ffff:8.8.8.8",
      "2001:db8:1:3::1",
      "2606:4700::1111",
      "not an address",
    ])
      expect(isOnLink(far, list), far).toBe(false);
  });
});
