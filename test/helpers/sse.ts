/** A Server-Sent Events reader for tests: collects `id:`/`data:` messages as they arrive. */
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { waitFor } from "./http.ts";

export interface SseMessage {
  id: string | undefined;
  /** When it arrived (`performance.now()`), for benchmarks. */
  at: number;
  data: {
    id: string;
    code: string;
    action: string;
    camera: string;
    source: string;
    snapshot: boolean;
    data: unknown;
    incident: string | null;
  };
}

export class SseClient {
  readonly messages: SseMessage[] = [];
  comments = 0;
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async open(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.req = request(
        this.url,
        { headers: { Accept: "text/event-stream", ...this.headers }, agent: false },
        (res) => {
          this.res = res;
          let buffer = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buffer += chunk;
            let end = buffer.indexOf("\n\n");
            while (end >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              if (block.startsWith(":")) this.comments++;
              else {
                const id = /^id: (.*)$/m.exec(block)?.[1];
                const data = /^data: (.*)$/m.exec(block)?.[1];
                if (data) this.messages.push({ id, at: performance.now(), data: JSON.parse(data) });
              }
              end = buffer.indexOf("\n\n");
            }
          });
          resolve(res.statusCode ?? 0);
        },
      );
      this.req.on("error", reject);
      this.req.end();
    });
  }

  waitFor(
    check: (messages: SseMessage[]) => boolean,
    timeoutMs = 10_000,
    what = "SSE messages",
  ): Promise<SseMessage[]> {
    return waitFor(() => (check(this.messages) ? this.messages : undefined), timeoutMs, what);
  }

  /** Resolves when the server ends the feed (after `open`). */
  ended(): Promise<void> {
    const res = this.res;
    if (!res || res.closed) return Promise.resolve();
    return new Promise((resolve) => res.once("close", () => resolve()));
  }

  close(): void {
    this.res?.destroy();
    this.req?.destroy();
  }
}
