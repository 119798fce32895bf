/**
 * What a camera session takes and gives (session.ts has the behaviour): its options, requests and answers,
 * its health, the route through another instance, and the login turns other doors (RTSP) take.
 */
import type { Readable } from "node:stream";
import type { Priority } from "./budget.ts";
import type { CameraError, CameraErrorCode } from "./errors.ts";
import type { Timeouts } from "./http.ts";

export type HealthState = "unknown" | "online" | "offline" | "auth-failed" | "busy";

export interface Health {
  state: HealthState;
  /** When the state last changed (ms since epoch). */
  since: number;
  reason: string | undefined;
  /** While `auth-failed`: when camgate tries the credentials again (ms since epoch). */
  retryAt?: number;
  /**
   * While `auth-failed`, why: `wrong-password` (credentials never seen to work, or changed since), or
   * `locked-out` (credentials that worked are refused now: the camera has locked camgate's address out
   * after failed logins, or its password was changed on the camera); `retryAt` is then when the lock
   * should have ended.
   */
  cause?: AuthFailureCause;
}

export type AuthFailureCause = "wrong-password" | "locked-out";

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
  /**
   * How long a camera's lockout lasts (Dahua's `LoginFailLockTime`, 300 s by default; dahua-cgi.md §1.6):
   * after credentials that worked are refused, nothing is tried before it has passed.
   */
  lockoutMs?: number;
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
  /** Keeps the last credential refusal across restarts (camgate's database). */
  authMemory?: AuthFailureMemory;
  /** Reach the camera through the camgate instance that owns it, from the start (`setRoute` later). */
  route?: SessionRoute;
}

/**
 * The way to a camera through another camgate (the instance that owns it, when several share the cameras):
 * requests go to that instance's CGI passthrough, signed there by the cluster, instead of to the camera.
 */
export interface SessionRoute {
  /** The owner's origin, or undefined while no instance owns the camera. */
  origin(): string | undefined;
  /** The target as the owner is asked for it (its passthrough prefix, signed). */
  target(method: string, target: string): string;
  /** The owner's RTSP server for one of the camera's streams (main, sub, or a camera path). */
  rtsp(stream: string, cameraPath: string): PeerRtsp | undefined;
}

export interface PeerRtsp {
  host: string;
  port: number;
  path: string;
  username: string;
  password: string;
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
  /**
   * Another port of the camera's own host (an ONVIF snapshot URI on a port of its own); the host is never
   * the request's to choose.
   */
  port?: number;
  /**
   * Sent without credentials (ONVIF's open operations: GetSystemDateAndTime): its success proves nothing
   * about the credentials, so it takes no login turn, is not held back by a credential backoff, and a 401
   * is handed to the caller as an answer.
   */
  anonymous?: boolean;
  /**
   * A refusal of the credentials that the protocol writes inside a 2xx/4xx/5xx answer instead of a 401
   * (ONVIF's WS-Security `ter:NotAuthorized` fault): the message when this answer is one. It is judged
   * before the login's outcome is shared, so a refused login costs one failed attempt, as a 401 does.
   */
  refusal?: (status: number, body: Buffer) => string | undefined;
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

export type HealthListener = (health: Health, previous: Health) => void;

/** A credential failure remembered across restarts, so a restart loop cannot hammer the camera. */
export interface RememberedAuthFailure {
  /** When the next login may be tried (ms since epoch). */
  retryAt: number;
  backoffMs: number;
  reason: string;
}

/**
 * Where a session keeps its last credential failure (camgate's database). `recall` answers only for the
 * same credentials: once they changed, the next login is tried at once.
 */
export interface AuthFailureMemory {
  recall(username: string, password: string): RememberedAuthFailure | undefined;
  remember(username: string, password: string, failure: RememberedAuthFailure | undefined): void;
}

/** The outcome of a login by another door (RTSP), reported back to the session. */
export interface LoginTurn {
  /** This login tries unproven credentials (the others wait for it). */
  onTrial: boolean;
  succeeded(): void;
  /** The camera refused the credentials: the backoff starts; the returned error says so. */
  refused(message: string): CameraError;
  /** No verdict (unreachable, timeout): the next in line tries. */
  failed(error: unknown): void;
}

/** The outcome of the one login in progress, shared by the requests that waited for it. */
export type LoginOutcome = { ok: true } | { ok: false; error: unknown };
