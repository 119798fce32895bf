/**
 * CameraSession: everything that talks to one camera goes through here, so Digest, the connection budget,
 * the lockout protection and the health state apply to every feature alike.
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
 *   password. Those rules live in `login-guard.ts`; this file does the exchange and keeps the health.
 */
import type { Readable } from "node:stream";
import { pickChallenge } from "../protocol/digest.ts";
import { type BudgetSlot, BudgetTimeoutError, ConnectionBudget } from "./budget.ts";
import { DigestState, type SignedRequest } from "./digest-state.ts";
import { CameraError, type CameraErrorCode } from "./errors.ts";
import {
  CameraConnections,
  DEFAULT_TIMEOUTS,
  discardBody,
  type RawResponse,
  readBody,
  sendRaw,
  type Timeouts,
} from "./http.ts";
import { type FinishLogin, LoginGuard } from "./login-guard.ts";

import type {
  CameraRequest,
  CameraResponse,
  CameraSessionOptions,
  CameraStream,
  Health,
  HealthListener,
  HealthState,
  LoginOutcome,
  LoginTurn,
  SessionRoute,
  SessionStats,
} from "./session-types.ts";

export type {
  AuthFailureCause,
  AuthFailureMemory,
  CameraLog,
  CameraRequest,
  CameraResponse,
  CameraSessionOptions,
  CameraStream,
  Health,
  HealthState,
  LoginTurn,
  PeerRtsp,
  RememberedAuthFailure,
  SessionRoute,
  SessionStats,
} from "./session-types.ts";

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
  private connections: CameraConnections;
  /** Set while the camera is reached through the camgate instance that owns it. */
  private via: SessionRoute | undefined;
  private readonly timeouts: Timeouts;
  private readonly now: () => number;
  private health: Health;
  private readonly listeners = new Set<HealthListener>();
  private consecutiveFailures = 0;
  /** The lockout rules: whether the credentials are proven, refused, and who may try them. */
  private readonly guard: LoginGuard;
  private username: string;
  private password: string;
  private closed = false;

  constructor(private readonly options: CameraSessionOptions) {
    this.id = options.id;
    this.origin = new URL(options.url).origin;
    this.now = options.now ?? Date.now;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.budget = new ConnectionBudget(options.maxConnections ?? 4);
    this.username = options.username;
    this.password = options.password;
    this.digest = new DigestState(options.username, options.password, this.budget.max);
    this.connections = new CameraConnections(this.budget.max, this.timeouts);
    this.via = options.route;
    this.guard = new LoginGuard(
      {
        id: options.id,
        now: this.now,
        authBackoffMs: options.authBackoffMs,
        authBackoffMaxMs: options.authBackoffMaxMs,
        lockoutMs: options.lockoutMs,
        authMemory: options.authMemory,
        count: (error) => this.count(error),
      },
      options.username,
      options.password,
    );
    // A refusal remembered from before a restart (the guard recalls it) still holds.
    this.health = this.guard.refused
      ? { state: "auth-failed", since: this.now(), reason: this.guard.reason }
      : { state: "unknown", since: this.now(), reason: undefined };
  }

  /** Something went wrong that the caller cannot be told about (background work): a warning with the camera. */
  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.options.log?.("warn", message, { camera: this.id, ...fields });
  }

  /** Something about this camera worth a line in the log (a stream back after a failure). */
  info(message: string, fields: Record<string, unknown> = {}): void {
    this.options.log?.("info", message, { camera: this.id, ...fields });
  }

  getHealth(): Health {
    // The retry time moves when a trial did not reach the camera; read it now, not when the state began.
    return this.health.state === "auth-failed"
      ? { ...this.health, retryAt: this.guard.retryAt, cause: this.guard.cause }
      : { state: this.health.state, since: this.health.since, reason: this.health.reason };
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
    this.username = username;
    this.password = password;
    this.digest.setCredentials(username, password);
    // The login state starts again: a success with the old credentials says nothing of the new ones, so
    // their first refusal is a wrong password (one failed login, then the backoff), never the camera's
    // connection limit, which would be retried at once until the camera locks the owner out (issue 27).
    this.guard.reset(username, password);
    if (this.health.state === "auth-failed") this.setHealth("unknown", "credentials changed");
  }

  /** The owner's way, while this instance reaches the camera through it. */
  get route(): SessionRoute | undefined {
    return this.via;
  }

  /**
   * Reach the camera through its owner (a route), or directly again (undefined). Every open connection of
   * the old way ends (streams included, so they reconnect the new way); resolves once they are closed, so
   * an instance that gives a camera up holds nothing open to it when it says so.
   */
  async setRoute(route: SessionRoute | undefined): Promise<void> {
    this.via = route;
    const old = this.connections;
    this.connections = new CameraConnections(this.budget.max, this.timeouts);
    this.consecutiveFailures = 0;
    this.guard.unverify();
    // A refusal's backoff outlives the way: reached directly again, the camera is not asked before it ends.
    if (!route && this.guard.refused && this.guard.waiting) {
      if (this.health.state !== "auth-failed")
        this.setHealth("auth-failed", "credentials refused earlier; waiting before trying them again");
    } else
      this.setHealth(
        "unknown",
        route ? "reached through the instance that owns it" : "owned by this instance",
      );
    await old.destroy().catch(() => undefined);
  }

  /** The credentials, for the camera's other doors (RTSP) that sign requests themselves. */
  get credentials(): { username: string; password: string } {
    return { username: this.username, password: this.password };
  }

  /**
   * A login by another door of the camera (RTSP) under the same rules as HTTP: refused during a credential
   * backoff, one at a time while the credentials are unproven, and its refusal starts the same backoff, so
   * the camera sees at most one failed login per period across every door.
   */
  async loginTurn(): Promise<LoginTurn> {
    this.guard.check();
    const finish = await this.guard.take();
    const onTrial = finish !== undefined;
    let done = false;
    const end = (outcome: LoginOutcome) => {
      if (done) return;
      done = true;
      finish?.(outcome);
    };
    return {
      onTrial,
      succeeded: () => {
        this.succeeded(onTrial, true);
        end({ ok: true });
      },
      refused: (message) => {
        this.enterAuthFailed();
        const error = this.count(
          new CameraError("auth-failed", this.id, message, {
            status: 401,
            retryAfterMs: this.guard.retryAt - this.now(),
          }),
        );
        end({ ok: false, error });
        return error;
      },
      failed: (error) => {
        this.failed(error, onTrial, true);
        end({ ok: false, error });
      },
    };
  }

  /** A complete request and its whole body. */
  async request(request: CameraRequest): Promise<CameraResponse> {
    const { response, release, body: read } = await this.exchange(request);
    try {
      const body = read ?? (await readBody(this.id, response.body, this.maxBodyBytes));
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
    await this.connections.destroy();
  }

  private get maxBodyBytes(): number {
    return this.options.maxBodyBytes ?? 32 * 1024 * 1024;
  }

  private async exchange(
    request: CameraRequest,
  ): Promise<{ response: RawResponse; release: () => void; body?: Buffer }> {
    if (this.closed) throw new CameraError("unreachable", this.id, "session closed");
    this.stats.calls++;
    const started = Date.now();
    const report = (code: CameraErrorCode | "ok") =>
      this.options.onCall?.({ code, ms: Date.now() - started });
    if (request.anonymous || this.via) return this.exchangeAnonymously(request, report);
    try {
      // Refused at once during a credential backoff, before taking a connection.
      this.guard.check();
    } catch (error) {
      report("auth-failed");
      throw error;
    }
    const slot = await this.takeSlot(request, report);
    const release = slot.release.bind(slot);
    let finishLogin: FinishLogin | undefined;
    try {
      // Taken with a slot in hand, so the one trying the credentials never waits for the ones waiting on it.
      finishLogin = await this.guard.take();
      const response = await this.authenticate(request, slot.index, finishLogin !== undefined);
      let body: Buffer | undefined;
      if (request.refusal) {
        body = await readBody(this.id, response.body, this.maxBodyBytes);
        const refused = request.refusal(response.status, body);
        if (refused !== undefined) {
          this.enterAuthFailed();
          throw new CameraError("auth-failed", this.id, refused, {
            status: response.status,
            retryAfterMs: this.guard.retryAt - this.now(),
          });
        }
      }
      this.succeeded(finishLogin !== undefined);
      finishLogin?.({ ok: true });
      report("ok");
      return body === undefined ? { response, release } : { response, release, body };
    } catch (error) {
      finishLogin?.({ ok: false, error });
      release();
      report(error instanceof CameraError ? error.code : "bad-response");
      throw this.failed(error, finishLogin !== undefined);
    }
  }

  /** A connection of the budget; all of them busy for too long is the camera's `busy`. */
  private async takeSlot(
    request: CameraRequest,
    report: (code: CameraErrorCode | "ok") => void,
  ): Promise<BudgetSlot> {
    try {
      return await this.budget.acquire(
        request.priority ?? "interactive",
        this.options.queueTimeoutMs ?? 10_000,
        request.signal,
      );
    } catch (error) {
      if (error instanceof BudgetTimeoutError) {
        this.setHealth("busy", `all ${this.budget.max} connections in use for ${error.waitedMs} ms`);
        report("busy");
        throw this.count(new CameraError("busy", this.id, error.message, { retryAfterMs: 1000 }));
      }
      throw error;
    }
  }

  /** A request without credentials: reachability, never a verdict on the credentials. */
  private async exchangeAnonymously(
    request: CameraRequest,
    report: (code: CameraErrorCode | "ok") => void,
  ): Promise<{ response: RawResponse; release: () => void }> {
    const slot = await this.takeSlot(request, report);
    try {
      const response = await this.send(request, request.method ?? "GET", undefined);
      this.consecutiveFailures = 0;
      this.guard.answered();
      // Reachable again; "online" still needs credentials known to work. Through the owner, its answer
      // says: under 500 the camera (or at least the owner, which watches it) is there.
      if (this.via ? response.status < 500 : this.guard.verified && this.health.state !== "auth-failed")
        this.setHealth("online", undefined);
      report("ok");
      return { response, release: slot.release.bind(slot) };
    } catch (error) {
      slot.release();
      report(error instanceof CameraError ? error.code : "bad-response");
      throw this.failed(error);
    }
  }

  /** Sends the request, answering at most one challenge. `fresh`: the credentials are on trial. */
  private async authenticate(request: CameraRequest, slot: number, fresh: boolean): Promise<RawResponse> {
    const startedAt = this.now();
    const method = request.method ?? "GET";
    const replayable = request.body === undefined || Buffer.isBuffer(request.body);
    const bodyForDigest = Buffer.isBuffer(request.body) ? request.body : undefined;
    // On trial, and on single-use-nonce cameras, ask for a fresh challenge first: a pre-emptive attempt
    // there would cost a failed login or a wasted one.
    let preemptive: SignedRequest | undefined;
    if (!fresh && !this.digest.perRequestNonce)
      preemptive = this.digest.sign(slot, method, request.target, bodyForDigest);
    if (!preemptive && !replayable) {
      // A streamed body cannot be sent twice, and some firmware drops unauthenticated POSTs instead of
      // answering 401 (audio.cgi postAudio, aiodahua): prime the challenge with a cheap GET first.
      await this.prime(slot, request.signal);
      preemptive = this.digest.sign(slot, method, request.target, bodyForDigest);
    }
    const first = await this.send(request, method, preemptive?.header);
    if (first.status !== 401) {
      if (preemptive) this.digest.recordPreemptiveSuccess();
      return first;
    }
    const challenge = this.challengeFrom(first);
    await discardBody(first.body);
    if (!replayable) {
      this.digest.adopt(slot, challenge);
      throw new CameraError("auth-failed", this.id, "streamed request refused (401); it cannot be resent", {
        status: 401,
      });
    }
    const stale = challenge.scheme === "digest" && challenge.stale;
    // Whether our other connections were open when the camera refused us (its connection limit answers 401).
    const crowded = this.budget.inUse > 1;
    const nonceBefore = this.digest.currentNonce(slot);
    this.digest.adopt(slot, challenge);
    // A refused pre-emptive attempt puts the credentials on trial: the retries of every request refused
    // now go one at a time, so a password changed on the camera costs one more failed login, not one each.
    let finishLogin: FinishLogin | undefined;
    if (preemptive) {
      this.guard.unverify();
      finishLogin = await this.guard.take();
    }
    try {
      const response = await this.retry(request, method, slot, bodyForDigest, stale, crowded, startedAt);
      if (preemptive && !stale && preemptive.nonce === nonceBefore) {
        // A miss counts only when the fresh nonce then worked, and nobody adopted another challenge
        // meanwhile: a 401 from the connection limit must not make us believe the camera issues single-use
        // nonces.
        this.digest.recordMiss();
      }
      this.guard.verified = true;
      finishLogin?.({ ok: true });
      return response;
    } catch (error) {
      finishLogin?.({ ok: false, error });
      throw error;
    }
  }

  /** The one retry after a 401, with the challenge just adopted; a 401 again is judged here. */
  private async retry(
    request: CameraRequest,
    method: string,
    slot: number,
    body: Buffer | undefined,
    stale: boolean,
    crowdedBefore: boolean,
    startedAt: number,
  ): Promise<RawResponse> {
    const signed = this.digest.sign(slot, method, request.target, body);
    if (!signed)
      throw new CameraError("bad-response", this.id, "the camera's challenge asks for an unsupported qop");
    const second = await this.send(request, method, signed.header);
    if (second.status !== 401) return second;
    const again = this.challengeFrom(second);
    await discardBody(second.body);
    this.digest.adopt(slot, again);
    if (stale && again.scheme === "digest" && again.stale) {
      // A stale answer to a fresh nonce is a firmware loop (audio.cgi channel 0, aiodahua): not a password issue.
      throw new CameraError("bad-response", this.id, "the camera repeats stale=TRUE for fresh nonces", {
        status: 401,
      });
    }
    const crowded = crowdedBefore || this.budget.inUse > 1;
    if (this.guard.judgeRefusal(startedAt, crowded) === "connection-limit") {
      // Until a trial shows they work again, the credentials are on trial: one request at a time.
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
    throw new CameraError(
      "auth-failed",
      this.id,
      this.health.reason ?? "the camera refused the credentials",
      {
        status: 401,
        retryAfterMs: this.guard.retryAt - this.now(),
      },
    );
  }

  private async prime(slot: number, signal: AbortSignal | undefined): Promise<void> {
    const response = await this.send(
      { target: "/cgi-bin/magicBox.cgi?action=getDeviceType", ...(signal ? { signal } : {}) },
      "GET",
      undefined,
    );
    if (response.status === 401) this.digest.adopt(slot, this.challengeFrom(response));
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
    let origin = this.origin;
    let target = request.target;
    const via = this.via;
    if (via) {
      // Through the owner: its answer is the camera's, and its own auth is the cluster's signature.
      const owner = via.origin();
      if (owner === undefined)
        throw new CameraError("unreachable", this.id, "no camgate instance owns the camera right now");
      origin = owner;
      target = via.target(method, request.target);
      delete headers.authorization;
    } else if (request.port !== undefined) {
      const url = new URL(this.origin);
      url.port = String(request.port);
      origin = url.origin;
    }
    const response = await sendRaw(
      this.connections,
      origin,
      this.id,
      {
        method,
        target,
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

  /** The camera refused the credentials: the guard's backoff starts and the camera's health says why. */
  private enterAuthFailed(): void {
    this.stats.credentialFailures++;
    this.guard.refuse();
    this.digest.forget();
    this.setHealth("auth-failed", this.guard.reason);
  }

  /**
   * `onTrial`: this call tried the credentials; only such a call ends a refusal's backoff. `byStream`: the
   * login of a stream (RTSP): it proves the credentials, but whether the camera answers is the HTTP side's
   * to say (a camera whose stream port answers and whose HTTP does not is not online, and the reverse is a
   * stream state, not the camera's health: issue 28).
   */
  private succeeded(onTrial: boolean, byStream = false): void {
    if (byStream && this.health.state === "offline") {
      this.guard.proven();
      return;
    }
    this.consecutiveFailures = 0;
    this.guard.answered();
    if (!onTrial && this.health.state === "auth-failed") return;
    this.guard.proven();
    this.setHealth("online", undefined);
  }

  /** `byStream`: a stream's connect failed (its port, its path): the stream's state says so, not the camera's health. */
  private failed(error: unknown, onTrial = false, byStream = false): unknown {
    if (!(error instanceof CameraError)) return error;
    this.count(error);
    if (!byStream && (error.code === "unreachable" || error.code === "timeout")) {
      this.consecutiveFailures++;
      if (
        this.consecutiveFailures >= (this.options.offlineAfterFailures ?? 2) &&
        this.health.state !== "auth-failed"
      ) {
        this.setHealth("offline", error.message);
      }
    }
    if (onTrial && this.health.state === "auth-failed" && error.code !== "auth-failed") {
      // The trial did not reach a verdict (the camera was away): keep the refusal, try again later.
      this.guard.trialUndecided();
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
