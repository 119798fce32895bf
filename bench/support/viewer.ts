/** A load-generating MJPEG viewer: reads a stream, counts frames and measures latency from each COM stamp. */
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { readComment } from "../../src/emulator/frame-renderer.ts";
import { MultipartParser } from "../../src/protocol/multipart.ts";

export interface ViewerResult {
  status: number;
  frames: number;
  latencies: number[];
}

export class Viewer {
  status = 0;
  frames = 0;
  latencies: number[] = [];
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private recording = false;
  private slowTimer: NodeJS.Timeout | undefined;

  /** `slowBytesPerSecond`: read no faster than this (a slow viewer); undefined reads as fast as it can. */
  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string> = {},
    private readonly slowBytesPerSecond?: number,
  ) {}

  start(): Promise<void> {
    return new Promise((resolve) => {
      this.req = request(this.url, { headers: this.headers, agent: false }, (res) => {
        this.res = res;
        this.status = res.statusCode ?? 0;
        resolve();
        if (this.status !== 200) {
          res.resume();
          return;
        }
        const parser = new MultipartParser({ boundary: "myboundary" });
        const onData = (chunk: Buffer) => {
          for (const part of parser.push(chunk)) {
            if (!this.recording) continue;
            this.frames++;
            const stamp = /t=(\d+)/.exec(readComment(part.body) ?? "");
            if (stamp) this.latencies.push(Date.now() - Number(stamp[1]));
          }
        };
        if (this.slowBytesPerSecond === undefined) {
          res.on("data", onData);
          return;
        }
        // A slow reader: take at most `slowBytesPerSecond / 10` bytes every 100 ms.
        res.pause();
        const budget = Math.max(1, Math.floor(this.slowBytesPerSecond / 10));
        this.slowTimer = setInterval(() => {
          let left = budget;
          while (left > 0) {
            const chunk = res.read(Math.min(left, res.readableLength || left)) as Buffer | null;
            if (!chunk) break;
            left -= chunk.length;
            onData(chunk);
          }
        }, 100);
      });
      this.req.on("error", () => resolve());
      this.req.end();
    });
  }

  record(on: boolean): void {
    this.recording = on;
  }

  stop(): void {
    if (this.slowTimer) clearInterval(this.slowTimer);
    this.res?.destroy();
    this.req?.destroy();
  }
}
