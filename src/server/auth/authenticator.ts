/**
 * The front door: who is asking. Credentials, in this order: a signed URL, a verified client certificate
 * (mTLS), `Authorization: Bearer <token>`, `Authorization: Basic` (user and password, or user and token),
 * and `X-Forwarded-User` from a trusted proxy only. Without configured users everyone is the anonymous admin
 * (the server then listens on loopback only). Failed attempts are limited per client address.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { BlockList, isIP, isIPv4 } from "node:net";
import type { TLSSocket } from "node:tls";
import type { UserConfig } from "../../config/schema.ts";
import { parseBasicAuthorization } from "../../protocol/digest.ts";
import { LINKS_SIGNER, SIGNED_PARAMS, type UrlSigner } from "../../protocol/signed-url.ts";
import type { FailureLimiter } from "./rate-limit.ts";
import { type Role, roleAllows } from "./roles.ts";
import { StoredSecret } from "./secrets.ts";
import { cookieValue, SESSION_COOKIE, type SessionStore } from "./sessions.ts";
import { type StreamGrant, StreamGrants } from "./stream-grants.ts";

export type AuthMethod =
  | "anonymous"
  | "token"
  | "basic"
  /** MD5 Digest (camgate's RTSP server). */
  | "digest"
  | "certificate"
  | "proxy"
  | "signed-url"
  | "session"
  /** The camera web UI's RPC2 login, terminated by camgate (a browser token in each call's body). */
  | "rpc2"
  /** `server.metricsToken`: a Prometheus scraper, which may read /metrics and nothing else. */
  | "metrics-token";

export interface Principal {
  name: string;
  role: Role;
  cameras: ReadonlySet<string> | "*";
  via: AuthMethod;
  /** A fingerprint of the user's credentials when it was judged (a held stream ends when they change). */
  credentials?: string;
  /** A signed URL allows exactly one method and target. */
  scope?: { method: string; target: string };
}

/**
 * How every door (HTTP, RTSP, ONVIF) begins judging a request: open (no users) lets everyone in as the
 * anonymous admin; an address past the failure limit is refused for a while, before its credentials are
 * even read; otherwise the door judges the credentials in its own way and `failed()` counts a failure
 * against the address, one limit shared by all the doors.
 */
export type DoorPreamble =
  | { kind: "open"; principal: Principal }
  | { kind: "blocked"; reason: string; retryAfterSeconds: number }
  | { kind: "judge"; failed: () => void };

/** Everyone, while camgate has no users (and so listens on loopback only). */
export function anonymousAdmin(): Principal {
  return { name: "anonymous", role: "admin", cameras: "*", via: "anonymous" };
}

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 429; reason: string; retryAfterSeconds?: number };

interface User {
  config: UserConfig;
  token: StoredSecret | undefined;
  password: StoredSecret | undefined;
  subject: Map<string, string> | undefined;
  /** A fingerprint of the configured credentials (never the credentials themselves). */
  credentials: string;
}

function credentialsOf(config: UserConfig): string {
  return createHash("sha256")
    .update(JSON.stringify([config.password ?? null, config.token ?? null, config.clientCertSubject ?? null]))
    .digest("base64url");
}

/** `CN=kiosk, O=Home` → {CN: kiosk, O: Home}. */
function parseSubject(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of text.split(/\s*[,/]\s*/)) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim().toUpperCase(), part.slice(eq + 1).trim());
  }
  return fields;
}

export function canSeeCamera(principal: Principal, camera: string): boolean {
  return principal.cameras === "*" || principal.cameras.has(camera);
}

export class Authenticator {
  private users: User[] = [];
  private readonly metricsToken: StoredSecret | undefined;
  private readonly trustedProxies: BlockList;

  constructor(
    users: readonly UserConfig[],
    private readonly options: {
      trustedProxies: readonly string[];
      metricsToken?: string | undefined;
      signer: UrlSigner;
      limiter: FailureLimiter;
      /** Users that are camgate's own, not the config's (the cluster's `~cluster`); they outlive reloads. */
      internalUsers?: readonly UserConfig[];
      sessions: SessionStore;
    },
  ) {
    this.setUsers(users);
    this.metricsToken =
      options.metricsToken === undefined ? undefined : new StoredSecret(options.metricsToken);
    this.trustedProxies = addressList(options.trustedProxies);
  }

  /**
   * The users of a reloaded config. Principals are looked up by name on every request, so a removed user's
   * sessions and signed URLs stop working at once and a changed role applies to the next request.
   */
  setUsers(users: readonly UserConfig[]): void {
    this.users = [...users, ...(this.options.internalUsers ?? [])].map((config) => ({
      config,
      token: config.token === undefined ? undefined : new StoredSecret(config.token),
      password: config.password === undefined ? undefined : new StoredSecret(config.password),
      subject: config.clientCertSubject === undefined ? undefined : parseSubject(config.clientCertSubject),
      credentials: credentialsOf(config),
    }));
    // Streams already running are judged again, as the next request of theirs would be.
    this.grants.recheck((grant) => this.stillAllows(grant));
  }

  /** Every stream that outlives its request, held under its principal (see stream-grants.ts). */
  readonly grants = new StreamGrants();

  /**
   * Whether a held stream may go on: anonymous only while camgate is open; any other principal only while
   * its user exists with the same credentials, a role that allows the stream and the camera in sight.
   */
  private stillAllows(grant: StreamGrant): boolean {
    const held = grant.principal;
    if (held.via === "anonymous") return this.open;
    const user = this.users.find((u) => u.config.name === held.name);
    if (!user || (held.credentials !== undefined && held.credentials !== user.credentials)) return false;
    const now = this.principal(user, held.via);
    return (
      roleAllows(now.role, grant.role) && (grant.camera === undefined || canSeeCamera(now, grant.camera))
    );
  }

  /** No user is configured (camgate's own internal users do not count): loopback only, no auth asked. */
  get open(): boolean {
    return this.users.length === (this.options.internalUsers?.length ?? 0);
  }

  /** The preamble of every door (see `DoorPreamble`) for a request from `address`. */
  preamble(address: string): DoorPreamble {
    if (this.open) return { kind: "open", principal: anonymousAdmin() };
    const blocked = this.options.limiter.blockedFor(address);
    if (blocked > 0)
      return {
        kind: "blocked",
        reason: "too many failed logins",
        retryAfterSeconds: Math.ceil(blocked / 1000),
      };
    return { kind: "judge", failed: () => this.options.limiter.record(address) };
  }

  principalFor(name: string, via: AuthMethod): Principal | undefined {
    const user = this.users.find((u) => u.config.name === name);
    return user ? this.principal(user, via) : undefined;
  }

  private principal(user: User, via: AuthMethod): Principal {
    const cameras = user.config.cameras.includes("*") ? "*" : new Set(user.config.cameras);
    return { name: user.config.name, role: user.config.role, cameras, via, credentials: user.credentials };
  }

  /**
   * Who signed a URL: a user, or camgate's own links in webhooks and notifications (`LINKS_SIGNER`), which
   * read with GET and nothing else (each link is scoped to its own path anyway).
   */
  private signerPrincipal(name: string, method: string): Principal | undefined {
    if (name === LINKS_SIGNER)
      return method.toUpperCase() === "GET"
        ? { name: LINKS_SIGNER, role: "viewer", cameras: "*", via: "signed-url" }
        : undefined;
    return this.principalFor(name, "signed-url");
  }

  /** The principal for a user name and password or token (sign-in), or undefined. */
  checkPassword(username: string, password: string): Principal | undefined {
    const user = this.users.find((u) => u.config.name === username);
    if (!user) return undefined;
    return user.password?.matches(password) || user.token?.matches(password)
      ? this.principal(user, "session")
      : undefined;
  }

  /**
   * What a Digest response can be checked against for `username`: its password and token where they are
   * stored in plain text (a hash cannot answer Digest; such users authenticate with Basic).
   */
  digestSecrets(username: string): { principal: Principal; secrets: string[] } | undefined {
    const user = this.users.find((u) => u.config.name === username);
    if (!user) return undefined;
    const secrets = [user.password?.plain, user.token?.plain].filter((s): s is string => s !== undefined);
    return { principal: this.principal(user, "basic"), secrets };
  }

  /** A Basic user name and password (or token), for doors other than HTTP (RTSP). */
  checkBasic(username: string, password: string, via: AuthMethod): Principal | undefined {
    const user = this.users.find((u) => u.config.name === username);
    if (!user) return undefined;
    return user.password?.matches(password) || user.token?.matches(password)
      ? this.principal(user, via)
      : undefined;
  }

  /** The principal a signed target was made for, or why it is refused. */
  checkSigned(
    method: string,
    target: string,
  ): { ok: true; principal: Principal } | { ok: false; reason: string } {
    const verdict = this.options.signer.verify(method, target);
    if (!verdict.ok) return verdict;
    const principal = this.signerPrincipal(verdict.user, method);
    return principal ? { ok: true, principal } : { ok: false, reason: "the signing user no longer exists" };
  }

  get limiter(): FailureLimiter {
    return this.options.limiter;
  }

  /**
   * The client a failed login is counted against: the socket's address, or behind a trusted proxy the
   * address it forwarded (`X-Forwarded-For`, read from the right: the first hop that is not itself a
   * trusted proxy). Without this, every client behind a balancer shares its address, and one client's
   * wrong passwords lock everyone out. A header from an untrusted address is never read.
   */
  clientAddress(req: IncomingMessage): string {
    const socketAddress = req.socket.remoteAddress ?? "unknown";
    const header = req.headers["x-forwarded-for"];
    if (header === undefined || !isTrusted(this.trustedProxies, socketAddress)) return socketAddress;
    const hops = (Array.isArray(header) ? header.join(",") : header)
      .split(",")
      .map((hop) => hop.trim())
      .slice(-MAX_FORWARDED_HOPS);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (isIP(hop) === 0) return socketAddress;
      if (!isTrusted(this.trustedProxies, hop)) return hop;
    }
    return socketAddress;
  }

  authenticate(req: IncomingMessage, method: string, target: string): AuthResult {
    const door = this.preamble(this.clientAddress(req));
    if (door.kind === "open") {
      // Open, a signed URL still says who signed it (another instance's hop is told apart by that).
      const signed = SIGNED_PARAMS.some((name) => target.includes(`${name}=`))
        ? this.options.signer.verify(method, target)
        : undefined;
      const signer = signed?.ok ? this.signerPrincipal(signed.user, method) : undefined;
      return { ok: true, principal: signer ?? door.principal };
    }
    if (door.kind === "blocked")
      return { ok: false, status: 429, reason: door.reason, retryAfterSeconds: door.retryAfterSeconds };
    const fail = (reason: string): AuthResult => {
      door.failed();
      return { ok: false, status: 401, reason };
    };

    if (SIGNED_PARAMS.some((name) => target.includes(`${name}=`))) {
      const verdict = this.options.signer.verify(method, target);
      if (!verdict.ok) return fail(verdict.reason);
      const principal = this.signerPrincipal(verdict.user, method);
      if (!principal) return fail("the signing user no longer exists");
      return {
        ok: true,
        principal: { ...principal, scope: { method: method.toUpperCase(), target: verdict.base } },
      };
    }

    const socket = req.socket as TLSSocket;
    if (socket.encrypted && socket.authorized) {
      const subject = socket.getPeerCertificate()?.subject as Record<string, string | string[]> | undefined;
      if (subject) {
        const user = this.users.find(
          (u) =>
            u.subject !== undefined &&
            [...u.subject].every(([key, value]) => {
              const actual = subject[key];
              return Array.isArray(actual) ? actual.includes(value) : actual === value;
            }),
        );
        if (user) return { ok: true, principal: this.principal(user, "certificate") };
      }
    }

    const header = req.headers.authorization;
    if (header !== undefined && header !== "") {
      const bearer = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
      if (bearer) {
        const token = bearer[1] as string;
        const user = this.users.find((u) => u.token?.matches(token));
        if (user) return { ok: true, principal: this.principal(user, "token") };
        if (this.metricsToken?.matches(token))
          return {
            ok: true,
            principal: { name: "metrics", role: "viewer", cameras: new Set(), via: "metrics-token" },
          };
        return fail("unknown token");
      }
      const basic = parseBasicAuthorization(header);
      if (basic) {
        const user = this.users.find((u) => u.config.name === basic.username);
        const matches =
          user !== undefined &&
          (user.password?.matches(basic.password) || user.token?.matches(basic.password));
        return matches && user
          ? { ok: true, principal: this.principal(user, "basic") }
          : fail("wrong user name or password");
      }
      return fail("unsupported Authorization scheme");
    }

    const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (session !== undefined) {
      const name = this.options.sessions.user(session);
      const principal = name === undefined ? undefined : this.principalFor(name, "session");
      if (principal) return { ok: true, principal };
    }

    const forwarded = req.headers["x-forwarded-user"];
    if (
      typeof forwarded === "string" &&
      forwarded !== "" &&
      isTrusted(this.trustedProxies, req.socket.remoteAddress ?? "unknown")
    ) {
      const principal = this.principalFor(forwarded, "proxy");
      return principal ? { ok: true, principal } : fail("the proxy named an unknown user");
    }

    return { ok: false, status: 401, reason: "credentials required" };
  }
}

/** Hops of X-Forwarded-For looked at, from the right (a client may write any number before them). */
const MAX_FORWARDED_HOPS = 16;

/** `192.168.0.10`, `10.0.0.0/8`, `::1`, `fd00::/8` (the schema has checked each). */
function addressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix] = entry.split("/");
    const type = isIPv4(address) ? "ipv4" : "ipv6";
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

function isTrusted(list: BlockList, remote: string): boolean {
  const address = remote.replace(/^::ffff:/, "");
  return list.check(address, isIPv4(address) ? "ipv4" : "ipv6");
}
