/**
 * A WebSocket carrying RTSP as the camera web UI's player speaks it (`protocol/rtsp-over-websocket.ts`), seen
 * by camgate's RTSP server as one more client connection: each message's bytes are read as the client's
 * RTSP, and what the server writes goes out re-framed (responses alone, frames with Dahua's 6-byte header).
 * What the client has not taken is the WebSocket's buffered amount, so a slow browser skips to the next
 * keyframe like a slow RTSP client does.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { RawData, WebSocket } from "ws";
import { DahuaWebSocketFramer } from "../../protocol/rtsp-over-websocket.ts";
import type { RtspTransport } from "../rtsp/rtsp-server.ts";

function bytesOf(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class WebSocketRtspTransport extends EventEmitter implements RtspTransport {
  private readonly framer = new DahuaWebSocketFramer();
  private paused = false;
  private ended = false;
  readonly localAddress: string | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly raw: Socket,
    readonly remoteAddress: string,
  ) {
    super();
    this.localAddress = raw.localAddress;
    socket.on("message", (data) => {
      if (!this.ended) this.emit("data", bytesOf(data));
    });
    socket.on("close", () => this.end());
    // A broken WebSocket is this client's end, reported as a close (the server drops the connection either way).
    socket.on("error", () => this.end());
    raw.on("drain", () => {
      if (!this.ended) this.emit("drain");
    });
  }

  get destroyed(): boolean {
    return this.ended;
  }

  get writableLength(): number {
    return this.socket.bufferedAmount;
  }

  write(bytes: Buffer): boolean {
    if (this.ended) return false;
    let messages: Buffer[];
    try {
      messages = this.framer.push(bytes);
    } catch {
      // camgate's own bytes not being RTSP would be camgate's bug: this client ends, never the process.
      this.destroy();
      return false;
    }
    for (const message of messages) this.socket.send(message, { binary: true });
    return true;
  }

  destroy(): void {
    if (this.ended) return;
    this.socket.terminate();
    this.end();
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    this.socket.resume();
  }

  isPaused(): boolean {
    return this.paused;
  }

  setNoDelay(): void {
    this.raw.setNoDelay(true);
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit("close");
  }
}
