/** A Node client of camgate's live (MSE over WebSocket) endpoint, as the browser player speaks it. */
import WebSocket from "ws";

export interface LiveClient {
  socket: WebSocket;
  /** Text messages, parsed. */
  messages: { type: string; value: string; code?: string }[];
  /** Binary messages: the init segment, then fragments. */
  binaries: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Opens the socket (rejects with the HTTP status when the upgrade is refused) and says what it plays. */
export function openLive(
  url: string,
  options: { headers?: Record<string, string>; codecs?: string; ca?: Buffer } = {},
): Promise<LiveClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, "ws"), {
      headers: options.headers ?? {},
      ...(options.ca ? { ca: options.ca } : {}),
    });
    const client: LiveClient = {
      socket,
      messages: [],
      binaries: [],
      closed: new Promise((done) =>
        socket.on("close", (code, reason) => done({ code, reason: reason.toString() })),
      ),
      close: () => socket.close(),
    };
    socket.on("unexpected-response", (_request, response) => {
      reject(
        Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode }),
      );
      socket.terminate();
    });
    socket.on("error", (error) => reject(error));
    socket.on("message", (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (isBinary) client.binaries.push(bytes);
      else client.messages.push(JSON.parse(bytes.toString()));
    });
    socket.on("open", () => {
      socket.send(
        JSON.stringify({ type: "mse", value: options.codecs ?? "avc1.640029,hvc1.1.6.L153.B0,mp4a.40.2" }),
      );
      resolve(client);
    });
  });
}

/** The status an upgrade was refused with. */
export async function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  try {
    const client = await openLive(url, { headers });
    client.close();
    return 101;
  } catch (error) {
    return (error as { status?: number }).status ?? 0;
  }
}

/** The fragments' `tfdt` decode times (test-side box reading, apart from the writer). */
export function decodeTimes(fragments: Buffer[]): number[] {
  const times: number[] = [];
  for (const data of fragments) {
    const at = data.indexOf("tfdt", 0, "latin1");
    if (at < 0 || data.toString("latin1", 4, 8) !== "moof") continue;
    times.push(Number(data.readBigUInt64BE(at + 8)));
  }
  return times;
}

/** Whether a fragment's sample is a sync sample (its trun's first-sample flags). */
export function isKeyframeFragment(data: Buffer): boolean {
  const at = data.indexOf("trun", 0, "latin1");
  return at >= 0 && data.readUInt32BE(at + 4 + 4 + 4 + 4 + 4 + 4) === 0x02000000;
}
