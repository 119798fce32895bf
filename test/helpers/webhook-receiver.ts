/** A webhook receiver for tests: records deliveries, checks signatures, can be down or failing on purpose. */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { signWebhook } from "../../src/events/webhooks.ts";

export interface ReceivedDelivery {
  /** performance.now() when it arrived. */
  at: number;
  id: string;
  event: string;
  timestamp: string;
  signatureValid: boolean;
  body: { id: string; code: string; action: string; camera: string; channel: number };
}

export class WebhookReceiver {
  readonly received: ReceivedDelivery[] = [];
  /** Answer 503 instead of 204 while true. */
  failing = false;
  private server: Server | undefined;
  port = 0;

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        if (this.failing) {
          res.writeHead(503).end();
          return;
        }
        const timestamp = String(req.headers["x-camgate-timestamp"]);
        this.received.push({
          at: performance.now(),
          id: String(req.headers["x-camgate-delivery"]),
          event: String(req.headers["x-camgate-event"]),
          timestamp,
          signatureValid: req.headers["x-camgate-signature"] === signWebhook(this.secret, timestamp, body),
          body: JSON.parse(body),
        });
        res.writeHead(204).end();
      });
    });
    this.server.listen(port, "127.0.0.1");
    await once(this.server, "listening");
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
    this.server = undefined;
  }
}
