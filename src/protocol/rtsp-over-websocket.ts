/**
 * RTSP over a WebSocket as the player of Dahua's own web UI speaks it (`ws://camera/rtspoverwebsocket`; the
 * player's code as extracted from the firmware's web pages in TeamDotworld/dahua-rtsp-web,
 * src/WebSocketServer.js, MIT). What it expects, which is not RFC 2326 carried as bytes:
 *
 * - the client sends each request whole, as one binary message;
 * - interleaved frames have a 6-byte header: `$`, the channel, and a **32-bit** big-endian length (RFC 2326's
 *   is 16-bit); several may share a message, but one is never split across messages (the player drops what a
 *   message leaves unfinished);
 * - a response is a message of its own: the player cuts a response 6 bytes past its blank line (2 past its
 *   end), so a frame after it in the same message would lose its first bytes.
 *
 * `DahuaWebSocketFramer` turns camgate's RTSP byte stream (responses, `$` + channel + 16-bit length frames)
 * into such messages; `readDahuaWebSocketMessage` reads one as a client does.
 */
import { RtspError } from "./rtsp.ts";

export const DAHUA_WS_FRAME_HEADER_BYTES = 6;
const RTSP_FRAME_HEADER_BYTES = 4;
const DOLLAR = 0x24;
const BLANK_LINE = Buffer.from("\r\n\r\n");
/** A response's head and body together (an SDP is a few KiB). */
const MAX_RESPONSE_BYTES = 256 * 1024;

export type DahuaWebSocketItem =
  | { kind: "response"; text: string }
  | { kind: "frame"; channel: number; payload: Buffer };

export class DahuaWebSocketFramer {
  private pending = Buffer.alloc(0);

  /** Bytes kept for an item not yet whole. */
  get buffered(): number {
    return this.pending.length;
  }

  /** camgate's RTSP bytes → the messages to send, in order; throws `RtspError` on what RTSP is not. */
  push(bytes: Buffer): Buffer[] {
    let buffer = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    const messages: Buffer[] = [];
    let frames: Buffer[] = [];
    const flushFrames = () => {
      if (frames.length > 0) messages.push(Buffer.concat(frames));
      frames = [];
    };
    while (buffer.length > 0) {
      if (buffer[0] === DOLLAR) {
        if (buffer.length < RTSP_FRAME_HEADER_BYTES) break;
        const length = buffer.readUInt16BE(2);
        const end = RTSP_FRAME_HEADER_BYTES + length;
        if (buffer.length < end) break;
        const header = Buffer.alloc(DAHUA_WS_FRAME_HEADER_BYTES);
        header[0] = DOLLAR;
        header[1] = buffer[1] as number;
        header.writeUInt32BE(length, 2);
        frames.push(header, buffer.subarray(RTSP_FRAME_HEADER_BYTES, end));
        buffer = buffer.subarray(end);
        continue;
      }
      const blank = buffer.indexOf(BLANK_LINE);
      if (blank < 0) {
        if (buffer.length > MAX_RESPONSE_BYTES) throw new RtspError("an RTSP response without its end");
        break;
      }
      const head = buffer.subarray(0, blank).toString("latin1");
      if (!head.startsWith("RTSP/1.0 ")) throw new RtspError("neither an RTSP response nor a frame");
      const length = Number(/\r\ncontent-length:\s*(\d{1,7})\s*(?:\r\n|$)/i.exec(head)?.[1] ?? 0);
      const end = blank + BLANK_LINE.length + length;
      if (end > MAX_RESPONSE_BYTES) throw new RtspError(`an RTSP response of ${end} bytes`);
      if (buffer.length < end) break;
      flushFrames();
      messages.push(Buffer.from(buffer.subarray(0, end)));
      buffer = buffer.subarray(end);
    }
    flushFrames();
    // What is left is copied, so a large chunk is not kept alive for its last few bytes.
    this.pending = Buffer.from(buffer);
    return messages;
  }
}

/**
 * One message from the server, read as the player reads it: a response (the whole message), or one or more
 * whole frames. Throws `RtspError` on a message the player could not read.
 */
export function readDahuaWebSocketMessage(message: Buffer): DahuaWebSocketItem[] {
  if (message[0] !== DOLLAR) {
    const text = message.toString("latin1");
    if (!text.startsWith("RTSP/1.0 ")) throw new RtspError("neither an RTSP response nor a frame");
    return [{ kind: "response", text }];
  }
  const items: DahuaWebSocketItem[] = [];
  let offset = 0;
  while (offset < message.length) {
    if (message[offset] !== DOLLAR || offset + DAHUA_WS_FRAME_HEADER_BYTES > message.length)
      throw new RtspError("a frame cut short, or something after the frames");
    const length = message.readUInt32BE(offset + 2);
    const end = offset + DAHUA_WS_FRAME_HEADER_BYTES + length;
    if (end > message.length) throw new RtspError("a frame split across messages");
    items.push({
      kind: "frame",
      channel: message[offset + 1] as number,
      payload: message.subarray(offset + DAHUA_WS_FRAME_HEADER_BYTES, end),
    });
    offset = end;
  }
  return items;
}
