/**
 * Syslog forwarding in RFC 5424 form, over UDP (one message per datagram), TCP or TLS (octet-counting
 * framing, RFC 6587), since the cameras themselves cannot send their logs anywhere. Messages queue while a
 * TCP/TLS connection is being (re)made; the queue is bounded, and what overflows is counted as dropped.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect as netConnect, type Socket } from "node:net";
import { hostname as osHostname } from "node:os";
import { connect as tlsConnect } from "node:tls";

export interface SyslogMessage {
  /** Severity 0 (emergency) .. 7 (debug). */
  severity: number;
  /** ISO 8601 time; camera wall clock without zone is sent as such with a "Z"-less form. */
  time: string;
  appName: string;
  msgId: string;
  /** Structured data elements, e.g. { camgate: { camera: "dogs", code: "VideoMotion" } }. */
  data?: Record<string, Record<string, string>>;
  message: string;
}

/** Facility local0 (16): the number is facility * 8 + severity. */
const FACILITY = 16;
const MAX_QUEUE = 10_000;

const escapeParam = (value: string) => value.replace(/["\\\]]/g, (ch) => `\\${ch}`);
const nilOr = (value: string, max: number) =>
  value === "" ? "-" : value.replace(/[^\x21-\x7e]/g, "_").slice(0, max);

export function formatRfc5424(message: SyslogMessage, hostname: string, procId: string): string {
  const sd = message.data
    ? Object.entries(message.data)
        .map(
          ([id, params]) =>
            `[${id}@32473${Object.entries(params)
              .map(([k, v]) => ` ${k}="${escapeParam(v)}"`)
              .join("")}]`,
        )
        .join("")
    : "-";
  return `<${FACILITY * 8 + message.severity}>1 ${message.time} ${nilOr(hostname, 255)} ${nilOr(message.appName, 48)} ${nilOr(procId, 128)} ${nilOr(message.msgId, 32)} ${sd} ${message.message}`;
}

export class SyslogForwarder {
  private readonly url: URL;
  private udp: UdpSocket | undefined;
  private stream: Socket | undefined;
  private connecting = false;
  private readonly queue: string[] = [];
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  sent = 0;
  dropped = 0;

  constructor(
    url: string,
    private readonly hostname = osHostname(),
  ) {
    this.url = new URL(url);
  }

  send(message: SyslogMessage): void {
    if (this.closed) return;
    const line = formatRfc5424(message, this.hostname, String(process.pid));
    if (this.url.protocol === "udp:") {
      this.udp ??= createSocket(this.url.hostname.includes(":") ? "udp6" : "udp4");
      this.udp.send(Buffer.from(line), Number(this.url.port), this.url.hostname.replace(/^\[|\]$/g, ""));
      this.sent++;
      return;
    }
    if (this.queue.length >= MAX_QUEUE) {
      this.dropped++;
      return;
    }
    this.queue.push(`${Buffer.byteLength(line)} ${line}`);
    this.flush();
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.udp?.close();
    const stream = this.stream;
    if (!stream) return Promise.resolve();
    return new Promise((resolve) => stream.end(() => resolve()));
  }

  private flush(): void {
    if (!this.stream) {
      this.connect();
      return;
    }
    while (this.queue.length > 0) {
      const frame = this.queue.shift() as string;
      this.stream.write(frame);
      this.sent++;
    }
  }

  private connect(): void {
    if (this.connecting || this.closed) return;
    this.connecting = true;
    const host = this.url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(this.url.port);
    const socket =
      this.url.protocol === "tls:"
        ? tlsConnect({ host, port, servername: host })
        : netConnect({ host, port });
    socket.once(this.url.protocol === "tls:" ? "secureConnect" : "connect", () => {
      this.connecting = false;
      this.stream = socket;
      this.flush();
    });
    socket.on("error", () => undefined);
    socket.once("close", () => {
      this.connecting = false;
      if (this.stream === socket) this.stream = undefined;
      if (!this.closed && this.queue.length > 0) this.retry = setTimeout(() => this.connect(), 2000);
    });
  }
}
