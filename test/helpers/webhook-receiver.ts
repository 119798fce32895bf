/** A webhook receiver for tests: records deliveries, checks signatures, can be down or failing on purpose. */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { signWebhook } from "../../src/events/webhooks.ts";

export interface ReceivedDelivery {
  /** performance.now() when it arrived. */
  at: number;
  id: string;
  event: string;
  timestamp: string;
  /** Verified by the Standard Webhooks reference library (webhook-id, webhook-timestamp, webhook-signature). */
  signatureValid: boolean;
  /** camgate 0.1's X-Camgate-Signature, when sent. */
  legacySignatureValid: boolean | undefined;
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
        const timestamp = String(req.headers["webhook-timestamp"]);
        const legacy = req.headers["x-camgate-signature"];
        this.received.push({
          at: performance.now(),
          id: String(req.headers["webhook-id"]),
          event: String(req.headers["x-camgate-event"]),
          timestamp,
          signatureValid: this.verifies(body, req.headers),
          legacySignatureValid:
            legacy === undefined
              ? undefined
              : legacy === signWebhook(this.secret, String(req.headers["x-camgate-timestamp"]), body),
          body: JSON.parse(body),
        });
        res.writeHead(204).end();
      });
    });
    this.server.listen(port, "127.0.0.1");
    await once(this.server, "listening");
    this.port = (this.server.address() as AddressInfo).port;
  }

  private verifies(body: string, headers: Record<string, string | string[] | undefined>): boolean {
    const webhook = this.secret.startsWith("whsec_")
      ? new Webhook(this.secret)
      : new Webhook(this.secret, { format: "raw" });
    try {
      webhook.verify(body, headers as Record<string, string>);
      return true;
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
    this.server = undefined;
  }
}
