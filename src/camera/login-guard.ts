/**
 * LoginGuard: the rules that keep a camera from locking camgate's address out (dahua-cgi.md §1.6), apart
 * from the Digest exchange (session.ts) that asks it. It knows whether the credentials are proven, whether
 * a refusal's backoff lasts and why, which one request may try them while they are unproven, and whether a
 * second 401 is the camera's connection limit or a refusal of the credentials. It sends nothing.
 */
import { CameraError, type CameraErrorCode } from "./errors.ts";
import type { AuthFailureCause, AuthFailureMemory, LoginOutcome } from "./session-types.ts";

/** Dahua's default `LoginFailLockTime` (dahua-cgi.md §1.6): how long a lockout is assumed to last. */
const DAHUA_LOCKOUT_MS = 300_000;

/** How long a burst of our requests may meet the camera's connection limit before a refusal means more. */
const LIMIT_EPISODE_MS = 3000;

/** A 401 within this long after a success, with other requests of ours in flight, is the connection limit. */
const RECENT_SUCCESS_MS = 5 * 60_000;

export interface LoginGuardOptions {
  id: string;
  now: () => number;
  /** First refusal's backoff (default 60 s), doubling up to `authBackoffMaxMs` (default 30 min). */
  authBackoffMs?: number | undefined;
  authBackoffMaxMs?: number | undefined;
  lockoutMs?: number | undefined;
  authMemory?: AuthFailureMemory | undefined;
  /** Counts an error the guard raises or passes on (the session's statistics). */
  count: (error: CameraError) => CameraError;
}

/** Ends the turn of the one request trying unproven credentials. */
export type FinishLogin = (outcome: LoginOutcome) => void;

export class LoginGuard {
  /** The credentials have worked since they were set (or since their last refusal). */
  verified = false;
  /** A refusal's backoff is in force (the camera's health is `auth-failed`). */
  refused = false;
  retryAt = 0;
  cause: AuthFailureCause = "wrong-password";
  /** Why the credentials are refused, for the camera's health. */
  reason: string | undefined;
  private lastSuccessAt = 0;
  private backoffMs = 0;
  /** The credentials have worked at least once since they were set (a refusal of them is then a lockout). */
  private provenSinceSet = false;
  /**
   * When the camera's connection limit was first blamed for a refusal since the last success: refusals of
   * requests begun within `LIMIT_EPISODE_MS` of it are that limit (a burst of ours met it); a later one,
   * with no success between, is the camera refusing the credentials (a password changed on the camera
   * would otherwise be retried as "busy" until the camera locks the owner out: issue 27).
   */
  private limitEpisodeAt: number | undefined;
  /** While the credentials are not known to work, the one request trying them; the others wait for it. */
  private login: Promise<LoginOutcome> | undefined;

  constructor(
    private readonly options: LoginGuardOptions,
    private username: string,
    private password: string,
  ) {
    // A refusal remembered from before a restart still holds, for the same credentials.
    const remembered = options.authMemory?.recall(username, password);
    if (remembered && remembered.retryAt > options.now()) {
      this.refused = true;
      this.backoffMs = remembered.backoffMs;
      this.retryAt = remembered.retryAt;
      this.reason = remembered.reason;
    }
  }

  /** New credentials: the login state starts again (see `CameraSession.setCredentials`). */
  reset(username: string, password: string): void {
    this.username = username;
    this.password = password;
    this.verified = false;
    this.refused = false;
    this.provenSinceSet = false;
    this.lastSuccessAt = 0;
    this.limitEpisodeAt = undefined;
    this.backoffMs = 0;
    this.retryAt = 0;
  }

  /** A new way to the camera: the credentials are tried again before they count as working. */
  unverify(): void {
    this.verified = false;
  }

  /** Whether a refusal's backoff still lasts (nothing may be tried before `retryAt`). */
  get waiting(): boolean {
    return this.retryAt > this.options.now();
  }

  /** Refuses calls while a refusal's backoff lasts (after it, `take` lets one trial through). */
  check(): void {
    if (!this.refused) return;
    const wait = this.retryAt - this.options.now();
    if (wait <= 0) return;
    throw this.options.count(
      new CameraError(
        "auth-failed",
        this.options.id,
        `credentials refused; next login attempt in ${Math.ceil(wait / 1000)} s`,
        { retryAfterMs: Math.max(wait, 1000) },
      ),
    );
  }

  /**
   * While the credentials are not known to work, one request at a time may try them (first contact, after
   * a refusal, after the backoff): the others wait and share its refusal, so the camera sees one failed
   * login where it would have seen one per caller. Returns the function that ends this caller's turn when
   * it is the one to try, undefined when the credentials are known to work.
   */
  async take(): Promise<FinishLogin | undefined> {
    for (;;) {
      this.check();
      if (this.verified) return undefined;
      const running = this.login;
      if (!running) {
        let settle: FinishLogin = () => undefined;
        this.login = new Promise<LoginOutcome>((resolve) => {
          settle = resolve;
        });
        const finish: FinishLogin = (outcome) => {
          this.login = undefined;
          settle(outcome);
        };
        // After the camera's connection limit was blamed for refusing credentials that had worked, the
        // next trial waits for that episode to end (the others wait for the trial): a camera whose
        // password was changed on it then sees one more failed login, not one per request meanwhile.
        const episodeLeft =
          this.limitEpisodeAt === undefined ? 0 : this.limitEpisodeAt + LIMIT_EPISODE_MS - this.options.now();
        if (episodeLeft > 0) await new Promise((resolve) => setTimeout(resolve, episodeLeft));
        return finish;
      }
      const outcome = await running;
      // A refusal or an unreachable camera is the camera's answer for everyone; after anything else (a
      // timeout, an abort of that one request) the next in line tries.
      if (!outcome.ok && outcome.error instanceof CameraError && isShared(outcome.error.code))
        throw this.options.count(outcome.error);
    }
  }

  /**
   * A request begun at `startedAt` was refused twice (a fresh challenge included). While our other
   * connections were open and the credentials worked recently, within one episode, that is the camera's
   * connection limit (devices answer 401, not 503, when out of connections): `busy`, and the credentials
   * go on trial. Otherwise the credentials are refused (the session then calls `refuse`).
   */
  judgeRefusal(startedAt: number, crowded: boolean): "connection-limit" | "refused" {
    const now = this.options.now();
    const inEpisode =
      this.limitEpisodeAt === undefined || startedAt <= this.limitEpisodeAt + LIMIT_EPISODE_MS;
    if (crowded && now - this.lastSuccessAt < RECENT_SUCCESS_MS && inEpisode) {
      this.limitEpisodeAt ??= now;
      this.verified = false;
      return "connection-limit";
    }
    return "refused";
  }

  /** The camera refused the credentials: the backoff starts (or doubles), remembered across restarts. */
  refuse(): void {
    // Credentials that worked, refused now: the camera has locked us out (or its password was changed on
    // it). Nothing is tried before the lock has ended; trying would only start it again.
    const cause: AuthFailureCause = this.provenSinceSet ? "locked-out" : "wrong-password";
    this.provenSinceSet = false;
    this.verified = false;
    this.refused = true;
    this.limitEpisodeAt = undefined;
    this.backoffMs =
      this.backoffMs === 0
        ? (this.options.authBackoffMs ?? 60_000)
        : Math.min(this.backoffMs * 2, this.options.authBackoffMaxMs ?? 30 * 60_000);
    if (cause === "locked-out")
      this.backoffMs = Math.max(this.backoffMs, this.options.lockoutMs ?? DAHUA_LOCKOUT_MS);
    this.retryAt = this.options.now() + this.backoffMs;
    this.cause = cause;
    const until = new Date(this.retryAt).toISOString();
    this.reason =
      cause === "locked-out"
        ? `the camera refused credentials that worked: it has most likely locked camgate's address out after failed logins (or its password was changed on the camera); no attempt before ${until}, when the lock should have ended`
        : `credentials refused; retrying in ${Math.round(this.backoffMs / 1000)} s`;
    this.options.authMemory?.remember(this.username, this.password, {
      retryAt: this.retryAt,
      backoffMs: this.backoffMs,
      reason: this.reason,
    });
  }

  /** The camera answered (any request): the credentials' last success, for judging a later 401. */
  answered(): void {
    this.lastSuccessAt = this.options.now();
  }

  /** The credentials worked: the backoff and its memory end. */
  proven(): void {
    if (this.refused || this.backoffMs > 0)
      this.options.authMemory?.remember(this.username, this.password, undefined);
    this.verified = true;
    this.refused = false;
    this.provenSinceSet = true;
    this.limitEpisodeAt = undefined;
    this.backoffMs = 0;
  }

  /** A trial did not reach a verdict (the camera was away): the refusal holds, tried again a backoff later. */
  trialUndecided(): void {
    if (this.refused) this.retryAt = this.options.now() + this.backoffMs;
  }
}

/** Failures of the one login that every waiting caller shares (camera-wide answers, not this request's). */
function isShared(code: CameraErrorCode): boolean {
  return code === "auth-failed" || code === "unreachable";
}
