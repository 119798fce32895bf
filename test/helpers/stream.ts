/** Opens a long-lived authenticated GET (event or MJPEG stream) and collects its raw body bytes. */
import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { authorization, challengeOf } from "./digest-client.ts";
import { httpGet, waitFor } from "./http.ts";

export interface OpenStream {
  response: IncomingMessage;
  bytes(): Buffer;
  /** Resolves once the collected bytes satisfy `check`. */
  waitUntil(check: (bytes: Buffer) => boolean, timeoutMs?: number, what?: string): Promise<Buffer>;
  close(): void;
}

/** `password` undefined: no authentication at all (a gateway without users). */
export async function openStream(
  base: string,
  target: string,
  password: string | undefined,
  extraHeaders: Record<string, string> = {},
): Promise<OpenStream> {
  const headers: Record<string, string> = { ...extraHeaders };
  const first = password === undefined ? undefined : await httpGet(`${base}${target}`);
  if (first?.status === 401 && password !== undefined) {
    const www = String(first.headers["www-authenticate"]);
    headers.Authorization = www.startsWith("Basic")
      ? `Basic ${Buffer.from(`admin:${password}`).toString("base64")}`
      : authorization(challengeOf(first), target, { password });
  }
  let req: ClientRequest | undefined;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    req = request(`${base}${target}`, { headers, agent: false }, resolve);
    req.on("error", reject);
    req.end();
  });
  const chunks: Buffer[] = [];
  let total = Buffer.alloc(0);
  response.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    total = Buffer.concat([total, chunk]);
  });
  response.on("error", () => undefined);
  return {
    response,
    bytes: () => total,
    waitUntil: (check, timeoutMs = 10_000, what = "stream bytes") =>
      waitFor(() => (check(total) ? total : undefined), timeoutMs, what),
    close: () => {
      response.destroy();
      req?.destroy();
    },
  };
}
