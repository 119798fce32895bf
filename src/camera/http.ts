/**
 * One HTTP exchange with a camera over undici: the request target is sent byte for byte (the Digest `uri`
 * must match it exactly), and undici's errors become `CameraError`s with a stable code.
 */
import type { Readable } from "node:stream";
import { type Dispatcher, errors, Pool } from "undici";
import { CameraError } from "./errors.ts";

export interface Timeouts {
  /** TCP connect (default 5 s). */
  connectMs: number;
  /** Until the response headers arrive (default 10 s). */
  headersMs: number;
  /** Longest silence while reading the body; for streams this is the stall limit (default 30 s). */
  bodyMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 5000, headersMs: 10_000, bodyMs: 30_000 };

export interface RawRequest {
  method: string;
  /** Path and query exactly as they go on the request line. */
  target: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
}

/** Origins one camera is reached at: its HTTP port, another port of it, the instances that own it. */
const MAX_ORIGINS = 16;

/**
 * The connections to one camera: an undici Pool per origin; the budget, not the pools, limits concurrency.
 * Not undici's Agent: cameras close every connection (`Connection: close`), and the Agent closes an origin's
 * pool when its last connection ends and builds a new one for the next request, so it would rebuild the pool
 * (and fail its close with an error object) on every call; a pool kept here reconnects its clients instead.
 */
export class CameraConnections {
  private readonly pools = new Map<string, Pool>();
  private ended = false;

  constructor(
    private readonly maxConnections: number,
    private readonly timeouts: Timeouts,
  ) {}

  request(options: Dispatcher.RequestOptions & { origin: string }): Promise<Dispatcher.ResponseData> {
    // As undici's Agent after destroy: nothing more is sent.
    if (this.ended) return Promise.reject(new errors.ClientDestroyedError());
    return this.poolFor(options.origin).request(options);
  }

  /** Ends every connection at once (requests in flight fail); nothing is sent after it. */
  async destroy(): Promise<void> {
    this.ended = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }

  private poolFor(origin: string): Pool {
    const known = this.pools.get(origin);
    if (known && !known.destroyed && !known.closed) return known;
    if (this.pools.size >= MAX_ORIGINS) {
      // The origin used longest ago goes (a Map keeps insertion order; a reused origin is re-inserted).
      const [oldest, pool] = this.pools.entries().next().value as [string, Pool];
      this.pools.delete(oldest);
      void pool.close().catch(() => undefined);
    }
    const pool = new Pool(origin, {
      connections: this.maxConnections,
      pipelining: 0,
      connect: { timeout: this.timeouts.connectMs },
      keepAliveTimeout: 1000,
    });
    this.pools.set(origin, pool);
    return pool;
  }
}

/** Characters a request target may not carry: CR, LF, NUL and other controls would split or smuggle. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point here.
const UNSAFE_TARGET = /[\x00-\x20\x7f]/;

export async function sendRaw(
  connections: CameraConnections,
  origin: string,
  camera: string,
  request: RawRequest,
  timeouts: Timeouts,
): Promise<RawResponse> {
  if (!request.target.startsWith("/") || UNSAFE_TARGET.test(request.target)) {
    throw new CameraError(
      "bad-response",
      camera,
      "refusing a request target with control characters or spaces",
    );
  }
  try {
    const response = await connections.request({
      origin,
      path: request.target,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers ?? {},
      body: request.body ?? null,
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.bodyMs,
      signal: request.signal ?? null,
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  } catch (error) {
    throw toCameraError(camera, error);
  }
}

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

export function toCameraError(camera: string, error: unknown): CameraError {
  if (error instanceof CameraError) return error;
  if (error instanceof errors.ConnectTimeoutError)
    return new CameraError("timeout", camera, "connect timed out", { cause: error });
  if (error instanceof errors.HeadersTimeoutError)
    return new CameraError("timeout", camera, "no response headers in time", { cause: error });
  if (error instanceof errors.BodyTimeoutError)
    return new CameraError("timeout", camera, "response body stalled", { cause: error });
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (code !== undefined && UNREACHABLE_CODES.has(code))
    return new CameraError("unreachable", camera, `unreachable (${code})`, { cause: error });
  if ((error as { name?: string }).name === "AbortError" || code === "UND_ERR_ABORTED") {
    return new CameraError("timeout", camera, "request aborted", { cause: error });
  }
  return new CameraError("bad-response", camera, error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

/** Reads a whole body with a size limit; a larger body is a `bad-response`, not memory growth. */
export async function readBody(camera: string, body: RawResponse["body"], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        body.destroy();
        throw new CameraError("bad-response", camera, `response over ${limit} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    throw toCameraError(camera, error);
  }
  return Buffer.concat(chunks);
}

/** Discards a body we do not need (a 401's), so the socket is released. */
export async function discardBody(body: RawResponse["body"]): Promise<void> {
  try {
    await body.dump({ limit: 64 * 1024 });
  } catch {
    // The camera closes after a 401 anyway; nothing to recover from a failed discard.
  }
}
