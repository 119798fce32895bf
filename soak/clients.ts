/**
 * The soak's clients of the gateway, each reconnecting as a real one would when the gateway restarts: MJPEG
 * viewers (frames counted over time), SSE readers (Last-Event-ID), an MQTT subscriber and a webhook
 * receiver (in the test helpers).
 */
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import mqtt, { type MqttClient } from "mqtt";
import { MultipartParser } from "../src/protocol/multipart.ts";

/** An MJPEG viewer that reconnects after a second whenever its stream ends. */
export class ReconnectingViewer {
  frames = 0;
  /** performance.now() of each frame's arrival is too much to keep; the last one is enough. */
  lastFrameAt = 0;
  connects = 0;
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: () => string,
    private readonly headers: Record<string, string>,
  ) {}

  start(): void {
    if (this.stopped) return;
    this.connects++;
    this.req = request(this.url(), { headers: this.headers, agent: false }, (res) => {
      this.res = res;
      if (res.statusCode !== 200) {
        res.resume();
        res.once("end", () => this.again());
        return;
      }
      const parser = new MultipartParser({ boundary: "myboundary" });
      res.on("data", (chunk: Buffer) => {
        for (const part of parser.push(chunk)) {
          if (part.body[0] !== 0xff) continue;
          this.frames++;
          this.lastFrameAt = Date.now();
        }
      });
      res.once("close", () => this.again());
      res.once("error", () => this.again());
    });
    this.req.once("error", () => this.again());
    this.req.end();
  }

  private again(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start();
    }, 1000);
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.res?.destroy();
    this.req?.destroy();
  }
}

export interface FeedEvent {
  id: string;
  camera: string;
  code: string;
  action: string;
  data: unknown;
}

/** An SSE reader that reconnects with Last-Event-ID, as EventSource does. */
export class ReconnectingFeed {
  readonly events: FeedEvent[] = [];
  private lastId: string | undefined;
  private req: ClientRequest | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: () => string,
    private readonly headers: Record<string, string>,
  ) {}

  start(): void {
    if (this.stopped) return;
    const headers = {
      Accept: "text/event-stream",
      ...this.headers,
      ...(this.lastId ? { "Last-Event-ID": this.lastId } : {}),
    };
    this.req = request(`${this.url()}/api/v1/events/stream`, { headers, agent: false }, (res) => {
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (id && data) {
            this.lastId = id;
            this.events.push(JSON.parse(data) as FeedEvent);
          }
        }
      });
      res.once("close", () => this.again());
    });
    this.req.once("error", () => this.again());
    this.req.end();
  }

  private again(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start();
    }, 1000);
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.req?.destroy();
  }
}

/** Every event published on `<prefix>/+/event` (QoS 1: at least once). */
export class MqttWatcher {
  readonly events: FeedEvent[] = [];
  private client: MqttClient | undefined;

  async start(url: string): Promise<void> {
    this.client = await mqtt.connectAsync(url, {
      clientId: "soak-watcher",
      protocolVersion: 4,
      clean: false,
    });
    await this.client.subscribeAsync("camgate/+/event", { qos: 1 });
    this.client.on("message", (_topic, payload) =>
      this.events.push(JSON.parse(payload.toString()) as FeedEvent),
    );
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }
}
