/**
 * Hostile RTSP peers for the memory test and the chaos suite (issue 28), bounded in bytes and time:
 *
 * - `HostileCamera`: an RTSP server that describes an H.264 stream and then sends what keeps memory alive
 *   in a careless client: each small packet rides in a socket chunk padded to ~60 kB by a frame on a
 *   channel never set up (so every packet is a view into a large buffer), as 1-byte FU-A fragments of a
 *   picture that never ends and as tiny complete P pictures after a keyframe.
 * - `HostileRtspClient`: a client of camgate's RTSP server that floods requests without reading, trickles a
 *   header block, sends a bare CR in a CSeq and random bytes, one after another, until stopped.
 */
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { parseCSeq, RtspReader, type RtspRequest } from "../../src/protocol/rtsp.ts";

/** A real SPS/PPS pair (Dahua's SDP in test/protocol/rtsp.test.ts): 1920x1080 Main profile. */
const SPS = "Z00AMpWoDwARP1EAAAMAAQAAAwAyhA==";
const PPS = "aO48gA==";
const PADDING = 60 * 1024;

function rtp(sequence: number, timestamp: number, marker: boolean, payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (marker ? 0x80 : 0) | 96;
  header.writeUInt16BE(sequence & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  header.writeUInt32BE(0x1234abcd, 8);
  return Buffer.concat([header, payload]);
}

function interleaved(channel: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = 0x24;
  header[1] = channel;
  header.writeUInt16BE(payload.length, 2);
  return Buffer.concat([header, payload]);
}

/** The SDP of the fake cameras: one H.264 track, the session controlled at its base (`a=control:*`). */
const SDP = [
  "v=0",
  "o=- 1 1 IN IP4 127.0.0.1",
  "s=fake",
  "t=0 0",
  "a=control:*",
  "m=video 0 RTP/AVP 96",
  "a=rtpmap:96 H264/90000",
  `a=fmtp:96 packetization-mode=1;profile-level-id=4D0032;sprop-parameter-sets=${SPS},${PPS}`,
  "a=control:trackID=0",
  "",
].join("\r\n");

type Reply = (status: string, headers: string[], body?: string) => void;

/**
 * A camera's RTSP port written for a test: it listens on loopback, counts connections, reads requests and
 * lets a subclass answer each (without auth); the steps it does not change are answered as a camera would.
 */
abstract class FakeRtspCamera {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  connections = 0;
  port = 0;

  async start(): Promise<number> {
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Answers one request; `standard` answers it as a camera would. */
  protected abstract answer(socket: Socket, request: RtspRequest, reply: Reply, standard: () => void): void;

  private accept(socket: Socket): void {
    this.connections++;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    const reader = new RtspReader();
    socket.on("data", (chunk: Buffer) => {
      let items: ReturnType<RtspReader["push"]>;
      try {
        items = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const item of items) {
        if (item.kind !== "request") continue;
        const cseq = parseCSeq(item.headers.get("cseq")) ?? 0;
        const reply: Reply = (status, headers, body = "") =>
          socket.write(
            `RTSP/1.0 ${status}\r\nCSeq: ${cseq}\r\n${headers.map((h) => `${h}\r\n`).join("")}${body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ""}\r\n${body}`,
          );
        const standard = () => {
          if (item.method === "DESCRIBE")
            reply("200 OK", [`Content-Base: ${item.uri}/`, "Content-Type: application/sdp"], SDP);
          else if (item.method === "SETUP")
            reply("200 OK", ["Transport: RTP/AVP/TCP;unicast;interleaved=0-1", "Session: 4242;timeout=60"]);
          else if (item.method === "PLAY")
            reply("200 OK", ["Session: 4242", "RTP-Info: url=trackID=0;seq=0;rtptime=0"]);
          else reply("200 OK", ["Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"]);
        };
        this.answer(socket, item, reply, standard);
      }
    });
  }
}

export class HostileCamera extends FakeRtspCamera {
  /** Bytes sent to clients in all. */
  sent = 0;

  constructor(
    /** Stop sending media after this many bytes (all clients together). */
    private readonly budgetBytes: number,
    /** At most this many bytes a second (unbounded when absent). */
    private readonly bytesPerSecond?: number,
  ) {
    super();
  }

  protected answer(socket: Socket, request: RtspRequest, _reply: Reply, standard: () => void): void {
    standard();
    if (request.method === "PLAY") void this.stream(socket);
  }

  /** The hostile media, padded packet by padded packet, respecting the socket's backpressure. */
  private async stream(socket: Socket): Promise<void> {
    let sequence = 0;
    let timestamp = 0;
    const padding = interleaved(5, Buffer.alloc(PADDING - 4, 0x55));
    const idr = Buffer.concat([Buffer.from([0x65]), randomBytes(200)]);
    const started = Date.now();
    let sentHere = 0;
    const send = async (packet: Buffer) => {
      const bytes = Buffer.concat([padding, interleaved(0, packet)]);
      this.sent += bytes.length;
      sentHere += bytes.length;
      if (!socket.write(bytes)) await new Promise((resolve) => socket.once("drain", resolve));
      if (this.bytesPerSecond) {
        const due = started + (sentHere / this.bytesPerSecond) * 1000;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      }
    };
    while (!socket.destroyed && this.sent < this.budgetBytes) {
      // A keyframe, so what follows is kept (the GOP cache, the clip pre-roll).
      timestamp += 3600;
      await send(rtp(sequence++, timestamp, true, idr));
      // Tiny complete P pictures, each a view into its padded chunk.
      for (let i = 0; i < 300 && !socket.destroyed; i++) {
        timestamp += 3600;
        await send(rtp(sequence++, timestamp, true, Buffer.from([0x41, i & 0xff, 0x80])));
      }
      // A P picture in 1-byte FU-A fragments that never ends.
      timestamp += 3600;
      await send(rtp(sequence++, timestamp, false, Buffer.from([0x5c, 0x81, 0x9a])));
      for (let i = 0; i < 2000 && !socket.destroyed; i++)
        await send(rtp(sequence++, timestamp, false, Buffer.from([0x5c, 0x01, i & 0xff])));
    }
  }
}

export class HostileRtspClient {
  private running = false;
  private done: Promise<void> = Promise.resolve();
  private readonly open = new Set<Socket>();
  rounds = 0;

  constructor(private readonly port: number) {}

  start(): void {
    this.running = true;
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const socket of this.open) socket.destroy();
    await this.done;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.rounds++;
      await this.attempt((socket) => socket.write("OPTIONS * RTSP/1.0\r\nCSeq: 1\rX: y\r\n\r\n"));
      await this.attempt((socket) => socket.write(randomBytes(2048)));
      // Requests answered into a socket that never reads, for a second.
      await this.attempt(async (socket) => {
        socket.pause();
        const until = Date.now() + 1000;
        while (this.running && !socket.destroyed && Date.now() < until) {
          socket.write("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n".repeat(8));
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      });
      // A header block trickled a line at a time.
      await this.attempt(async (socket) => {
        socket.write("DESCRIBE rtsp://x/ RTSP/1.0\r\n");
        for (let i = 0; i < 3 && this.running && !socket.destroyed; i++) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          socket.write(`X-Slow-${i}: ${i}\r\n`);
        }
      });
      // A pause between rounds, so a server that is away (restarting) is not spun against.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Opens a connection, does `act` with it, and closes it (bounded: 3 s at most). */
  private async attempt(act: (socket: Socket) => unknown): Promise<void> {
    if (!this.running) return;
    const socket = connect({ host: "127.0.0.1", port: this.port });
    this.open.add(socket);
    socket.on("error", () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", () => resolve());
        socket.once("error", reject);
      });
      await Promise.race([act(socket), new Promise((resolve) => setTimeout(resolve, 3000))]);
    } catch {
      // The server may refuse or close: that is what is being tried.
    } finally {
      socket.destroy();
      this.open.delete(socket);
    }
  }
}

/**
 * A camera whose RTSP fails at one step, every time: DESCRIBE, SETUP or PLAY answered with `status` (the
 * steps before it answered as a camera would). It counts the connections it gets.
 */
export class FailingRtspCamera extends FakeRtspCamera {
  constructor(
    private readonly step: "DESCRIBE" | "SETUP" | "PLAY",
    private readonly status = 404,
  ) {
    super();
  }

  protected answer(_socket: Socket, request: RtspRequest, reply: Reply, standard: () => void): void {
    if (request.method === this.step) reply(`${this.status} Refused`, []);
    else standard();
  }
}
