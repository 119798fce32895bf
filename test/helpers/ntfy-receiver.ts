/**
 * An HTTP receiver for notifications in tests: records each POST (headers, raw body), and answers 503 while
 * `failing`. `decoded` reads a header as ntfy does: RFC 2047 encoded words (`=?UTF-8?B?...?=`) decoded.
 */
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedPost {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function decoded(value: string | string[] | undefined): string | undefined {
  if (typeof value !== "string") return undefined;
  return value.replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=/gi, (_, data: string) =>
    Buffer.from(data, "base64").toString("utf8"),
  );
}

export class PostReceiver {
  readonly received: ReceivedPost[] = [];
  attempts = 0;
  failing = false;
  private server: Server | undefined;
  port = 0;

  url(path = "/house"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        this.attempts++;
        if (this.failing) {
          res.writeHead(503).end("down for the test");
          return;
        }
        this.received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { "content-type": "application/json" }).end('{"id":"ok"}');
      });
    });
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The posts to one path (one notification target). */
  to(path: string): ReceivedPost[] {
    return this.received.filter((post) => post.path === path);
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
    this.server = undefined;
  }
}
