/**
 * CameraSession: everything that talks to one camera goes through here, so Digest, the connection budget,
 * the lockout protection and the health state apply to every feature alike (DESIGN.md principles 1–3).
 *
 * - One round trip per call: the cached challenge is reused with the next `nc`; a 401 with a new nonce or
 *   `stale=TRUE` is retried exactly once with it. A camera that answers every reuse with a new nonce
 *   (Dahua NVRs) is detected after two misses and then asked for a fresh challenge per call, which costs a
 *   request but never a failed login.
 * - Never more than `maxConnections` sockets; the rest queue with a deadline, interactive first.
 * - Never lock the owner out: a 401 that survives the fresh-challenge retry stops the session for a backoff
 *   (1 min doubling to 30 min), after which one probe is let through: the camera sees at most one failed
 *   login per period. A 401 while our other connections are busy and the credentials recently worked is the
 *   camera's connection limit (devices answer 401, not 503, when out of connections): `busy`, not a bad
 *   password.
 */
import type { Readable } from "node:stream";
import type { Agent } from "undici";
import { pickChallenge } from "../protocol/digest.ts";
import { BudgetTimeoutError, ConnectionBudget, type Priority } from "./budget.ts";
import { DigestState, type SignedRequest } from "./digest-state.ts";
import { CameraError, type CameraErrorCode } from "./errors.ts";
import {
  createCameraAgent,
  DEFAULT_TIMEOUTS,
  discardBody,
  type RawResponse,
  readBody,
  sendRaw,
  type Timeouts,
} from "./http.ts";

export type HealthState = "unknown" | "online" | "offline" | "auth-failed" | "busy";

export interface Health {
  state: HealthState;
  /** When the state last changed (ms since epoch). */
  since: number;
  reason: string | undefined;
}

export interface CameraSessionOptions {
  id: string;
  /** `http://192.168.0.60` or `https://...:443`; only the origin is used. */
  url: string;
  username: string;
  password: string;
  maxConnections?: number;
  /** How long a request may wait for a free connection before `busy` (default 10 s). */
  queueTimeoutMs?: number;
  timeouts?: Partial<Timeouts>;
  /** First auth-failure backoff (default 60 s); doubles up to `authBackoffMaxMs` (default 30 min). */
  authBackoffMs?: number;
  authBackoffMaxMs?: number;
  /** Consecutive connection failures or timeouts before the camera counts as offline (default 2). */
  offlineAfterFailures?: number;
  /** Largest non-stream body read into memory (default 32 MiB). */
  maxBodyBytes?: number;
  now?: () => number;
  /** Called after every call with its outcome and duration (for metrics); must not throw. */
  onCall?: (outcome: { code: CameraErrorCode | "ok"; ms: number }) => void;
  /** Where the camera layer says what it noticed but could not act on (a logger, with the camera id). */
  log?: CameraLog;
}

export type CameraLog = (level: "info" | "warn", message: string, fields: Record<string, unknown>) => void;

export interface CameraRequest {
  /** Path and query, exactly as sent (`/cgi-bin/magicBox.cgi?action=getDeviceType`). */
  target: string;
  method?: string;
  /** A Buffer can be resent after a challenge; a stream is sent once, signed pre-emptively. */
  body?: Buffer | Readable;
  headers?: Record<string, string>;
  priority?: Priority;
  signal?: AbortSignal;
  timeouts?: Partial<Timeouts>;
}

export interface CameraResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface CameraStream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  /** Ends the stream and gives its connection back to the budget. */
  close(): void;
}

export interface SessionStats {
  calls: number;
  upstreamRequests: number;
  challenges: number;
  credentialFailures: number;
  errors: Partial<Record<CameraErrorCode, number>>;
}

type HealthListener = (health: Health, previous: Health) => void;

/** A 401 within this long after a success, with other requests of ours in flight, is the connection limit. */
const RECENT_SUCCESS_MS = 5 * 60_000;

export class CameraSession {
  readonly id: string;
  readonly origin: string;
  readonly budget: ConnectionBudget;
  readonly stats: SessionStats = {
    calls: 0,
    upstreamRequests: 0,
    challenges: 0,
    credentialFailures: 0,
    errors: {},
  };
  private readonly digest: DigestState;
  private readonly agent: Agent;
  private readonly timeouts: Timeouts;
  private readonly now: () => number;
  private health: Health;
  private readonly listeners = new Set<HealthListener>();
  private consecutiveFailures = 0;
  private lastSuccessAt = 0;
  private authBackoffMs = 0;
  private authRetryAt = 0;
  private probing = false;
  private closed = false;

  constructor(private readonly options: CameraSessionOptions) {
    this.id = options.id;
    this.origin = new URL(options.url).origin;
    this.now = options.now ?? Date.now;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.budget = new ConnectionBudget(options.maxConnections ?? 4);
    this.digest = new DigestState(options.username, options.password);
    this.agent = createCameraAgent(this.budget.max, this.timeouts);
    this.health = { state: "unknown", since: this.now(), reason: undefined };
  }

  /** Something went wrong that the caller cannot be told about (background work): a warning with the camera. */
  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.options.log?.("warn", message, { camera: this.id, ...fields });
  }

  getHealth(): Health {
    return { ...this.health };
  }

  onHealthChange(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True once the camera has been seen to issue a new nonce per request. */
  get singleUseNonces(): boolean {
    return this.digest.perRequestNonce;
  }

  /** New credentials (config reload): the auth-failed state and its backoff end. */
  setCredentials(username: string, password: string): void {
    this.digest.setCredentials(username, password);
    this.digest.forget();
    this.authBackoffMs = 0;
    this.authRetryAt = 0;
    if (this.health.state === "auth-failed") this.setHealth("unknown", "credentials changed");
  }

  /** A complete request and its whole body. */
  async request(request: CameraRequest): Promise<CameraResponse> {
    const { response, release } = await this.exchange(request);
    try {
      const body = await readBody(this.id, response.body, this.options.maxBodyBytes ?? 32 * 1024 * 1024);
      return { status: response.status, headers: response.headers, body };
    } catch (error) {
      throw this.failed(error);
    } finally {
      release();
    }
  }

  /**
   * A long-lived response (MJPEG, event stream) that keeps its budget slot until it ends. `timeouts.bodyMs`
   * is then the longest silence allowed before the stream counts as stalled.
   */
  async stream(request: CameraRequest): Promise<CameraStream> {
    const { response, release } = await this.exchange(request);
    const body = response.body as unknown as Readable;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      release();
    };
    body.once("close", end);
    body.once("end", end);
    body.once("error", end);
    return {
      status: response.status,
      headers: response.headers,
      body,
      close: () => {
        body.destroy();
        end();
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.agent.destroy();
  }

  private async exchange(request: CameraRequest): Promise<{ response: RawResponse; release: () => void }> {
    if (this.closed) throw new CameraError("unreachable", this.id, "session closed");
    this.stats.calls++;
    const started = Date.now();
    const report = (code: CameraErrorCode | "ok") =>
      this.options.onCall?.({ code, ms: Date.now() - started });
    let probe: boolean;
    try {
      probe = this.passAuthGate();
    } catch (error) {
      report("auth-failed");
      throw error;
    }
    let slot: { release(): void } | undefined;
    try {
      slot = await this.budget.acquire(
        request.priority ?? "interactive",
        this.options.queueTimeoutMs ?? 10_000,
        request.signal,
      );
    } catch (error) {
      if (probe) this.probing = false;
      if (error instanceof BudgetTimeoutError) {
        this.setHealth("busy", `all ${this.budget.max} connections in use for ${error.waitedMs} ms`);
        report("busy");
        throw this.count(new CameraError("busy", this.id, error.message, { retryAfterMs: 1000 }));
      }
      throw error;
    }
    const release = slot.release.bind(slot);
    try {
      const response = await this.authenticate(request, probe);
      this.succeeded(probe);
      report("ok");
      return { response, release };
    } catch (error) {
      release();
      report(error instanceof CameraError ? error.code : "bad-response");
      throw this.failed(error, probe);
    } finally {
      if (probe) this.probing = false;
    }
  }

  /** Sends the request, answering at most one challenge. */
  private async authenticate(request: CameraRequest, probe: boolean): Promise<RawResponse> {
    const method = request.method ?? "GET";
    const replayable = request.body === undefined || Buffer.isBuffer(request.body);
    const bodyForDigest = Buffer.isBuffer(request.body) ? request.body : undefined;
    // After a credential failure, and on single-use-nonce cameras, ask for a fresh challenge first: a
    // pre-emptive attempt there would cost a failed login or a wasted one.
    let preemptive: SignedRequest | undefined;
    if (!probe && !this.digest.perRequestNonce)
      preemptive = this.digest.sign(method, request.target, bodyForDigest);
    if (!preemptive && !replayable) {
      // A streamed body cannot be sent twice, and some firmware drops unauthenticated POSTs instead of
      // answering 401 (audio.cgi postAudio, aiodahua): prime the challenge with a cheap GET first.
      await this.prime(request.signal);
      preemptive = this.digest.sign(method, request.target, bodyForDigest);
    }
    const first = await this.send(request, method, preemptive?.header);
    if (first.status !== 401) {
      if (preemptive) this.digest.recordPreemptiveSuccess();
      return first;
    }
    const challenge = this.challengeFrom(first);
    await discardBody(first.body);
    if (!replayable) {
      this.digest.adopt(challenge);
      throw new CameraError("auth-failed", this.id, "streamed request refused (401); it cannot be resent", {
        status: 401,
      });
    }
    const stale = challenge.scheme === "digest" && challenge.stale;
    // Whether our other connections were open when the camera refused us (its connection limit answers 401).
    let crowded = this.budget.inUse > 1;
    const nonceBefore = this.digest.currentNonce;
    this.digest.adopt(challenge);
    const signed = this.digest.sign(method, request.target, bodyForDigest);
    if (!signed)
      throw new CameraError("bad-response", this.id, "the camera's challenge asks for an unsupported qop");
    const second = await this.send(request, method, signed.header);
    if (second.status !== 401) {
      // A miss counts only when the fresh nonce then worked, and nobody adopted another challenge meanwhile:
      // a 401 from the camera's connection limit must not make us believe it issues single-use nonces.
      if (preemptive && !stale && preemptive.nonce === nonceBefore) this.digest.recordMiss();
      return second;
    }
    const again = this.challengeFrom(second);
    await discardBody(second.body);
    this.digest.adopt(again);
    if (stale && again.scheme === "digest" && again.stale) {
      // A stale answer to a fresh nonce is a firmware loop (audio.cgi channel 0, aiodahua): not a password issue.
      throw new CameraError("bad-response", this.id, "the camera repeats stale=TRUE for fresh nonces", {
        status: 401,
      });
    }
    crowded ||= this.budget.inUse > 1;
    if (crowded && this.now() - this.lastSuccessAt < RECENT_SUCCESS_MS) {
      throw new CameraError(
        "busy",
        this.id,
        "the camera refused a login while our other connections are open (its connection limit)",
        {
          status: 401,
          retryAfterMs: 1000,
        },
      );
    }
    this.enterAuthFailed();
    throw new CameraError("auth-failed", this.id, "the camera refused the credentials", {
      status: 401,
      retryAfterMs: this.authRetryAt - this.now(),
    });
  }

  private async prime(signal: AbortSignal | undefined): Promise<void> {
    const response = await this.send(
      { target: "/cgi-bin/magicBox.cgi?action=getDeviceType", ...(signal ? { signal } : {}) },
      "GET",
      undefined,
    );
    if (response.status === 401) this.digest.adopt(this.challengeFrom(response));
    await discardBody(response.body);
  }

  private async send(
    request: CameraRequest,
    method: string,
    authorization: string | undefined,
  ): Promise<RawResponse> {
    this.stats.upstreamRequests++;
    const headers: Record<string, string> = { ...request.headers };
    if (authorization !== undefined) headers.authorization = authorization;
    const response = await sendRaw(
      this.agent,
      this.origin,
      this.id,
      {
        method,
        target: request.target,
        headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      },
      { ...this.timeouts, ...request.timeouts },
    );
    if (response.status === 401) this.stats.challenges++;
    return response;
  }

  private challengeFrom(response: RawResponse) {
    const header = response.headers["www-authenticate"];
    const challenge = header === undefined ? undefined : pickChallenge(header);
    if (!challenge) {
      throw new CameraError(
        "bad-response",
        this.id,
        "401 without a Digest or Basic challenge we can answer",
        { status: 401 },
      );
    }
    return challenge;
  }

  /** Refuses calls during an auth-failure backoff; lets exactly one probe through when it is over. */
  private passAuthGate(): boolean {
    if (this.health.state !== "auth-failed") return false;
    const wait = this.authRetryAt - this.now();
    if (wait > 0 || this.probing) {
      throw this.count(
        new CameraError(
          "auth-failed",
          this.id,
          `credentials refused; next login attempt in ${Math.ceil(Math.max(wait, 0) / 1000)} s`,
          {
            retryAfterMs: Math.max(wait, 1000),
          },
        ),
      );
    }
    this.probing = true;
    return true;
  }

  private enterAuthFailed(): void {
    this.stats.credentialFailures++;
    this.authBackoffMs =
      this.authBackoffMs === 0
        ? (this.options.authBackoffMs ?? 60_000)
        : Math.min(this.authBackoffMs * 2, this.options.authBackoffMaxMs ?? 30 * 60_000);
    this.authRetryAt = this.now() + this.authBackoffMs;
    this.digest.forget();
    this.setHealth(
      "auth-failed",
      `credentials refused; retrying in ${Math.round(this.authBackoffMs / 1000)} s`,
    );
  }

  private succeeded(probe: boolean): void {
    this.consecutiveFailures = 0;
    this.lastSuccessAt = this.now();
    if (probe || this.health.state !== "auth-failed") {
      this.authBackoffMs = 0;
      this.setHealth("online", undefined);
    }
  }

  private failed(error: unknown, probe = false): unknown {
    if (!(error instanceof CameraError)) return error;
    this.count(error);
    if (error.code === "unreachable" || error.code === "timeout") {
      this.consecutiveFailures++;
      if (
        this.consecutiveFailures >= (this.options.offlineAfterFailures ?? 2) &&
        this.health.state !== "auth-failed"
      ) {
        this.setHealth("offline", error.message);
      }
    } else if (probe && error.code !== "auth-failed") {
      // The probe reached the camera but failed otherwise: keep the auth-failed state, try again later.
      this.authRetryAt = this.now() + this.authBackoffMs;
    }
    return error;
  }

  private count(error: CameraError): CameraError {
    this.stats.errors[error.code] = (this.stats.errors[error.code] ?? 0) + 1;
    return error;
  }

  private setHealth(state: HealthState, reason: string | undefined): void {
    if (this.health.state === state && this.health.reason === reason) return;
    const previous = this.health;
    this.health = { state, since: state === previous.state ? previous.since : this.now(), reason };
    if (state === previous.state) return;
    for (const listener of this.listeners) listener(this.getHealth(), previous);
  }
}
