/**
 * The camera web UI's RPC2 login, terminated at camgate (docs/camera-ui.md): the browser (or any RPC2 client)
 * logs in to camgate's challenge with a camgate user's credentials, or is already signed in to camgate; it gets
 * a token of camgate's. Its calls are judged by its role, method by method (`rpc2-roles.ts`), and sent on
 * camgate's own RPC2 session with the camera (`camera/rpc2-client.ts`), which logged in with the camera's
 * credentials under the no-lockout rules. The camera's password and session never reach the browser;
 * secrets in config answers are redacted for non-admins.
 */
import { randomBytes } from "node:crypto";
import type { CameraEntry } from "../../camera/registry.ts";
import { CameraRpc2 } from "../../camera/rpc2-client.ts";
import { RPC2_CODES, type Rpc2Message, rpc2LoginHash } from "../../protocol/rpc2.ts";
import { errorText } from "../../util/error-text.ts";
import { canSeeCamera, type Principal } from "../auth/authenticator.ts";
import { roleAllows } from "../auth/roles.ts";
import { redactRpc2, rpc2RoleForMessage } from "../auth/rpc2-roles.ts";
import type { GatewayContext } from "../context.ts";

type Answer = Record<string, unknown>;

const KEEPALIVE_S = 60;
/** Newer firmware's encrypted calls: their inner calls cannot be judged without re-keying (not done yet). */
const ENCRYPTED = new Set(["system.multiSec", "system.attachSec"]);
const CHALLENGE_MS = 60_000;
/** Browser sessions and open challenges per camera; the oldest goes first past these. */
const MAX_TOKENS = 256;
const MAX_CHALLENGES = 256;

interface Token {
  principal: Principal;
  lastSeen: number;
  keepAliveMs: number;
}

const error = (code: number, message: string) => ({ code, message });

export class Rpc2Terminator {
  private readonly tokens = new Map<string, Token>();
  private readonly challenges = new Map<string, { random: string; at: number }>();
  readonly camera: CameraRpc2;
  /** camgate's realm, never the camera's (which names its serial). */
  readonly realm: string;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly entry: CameraEntry,
    private readonly now: () => number = Date.now,
  ) {
    this.camera = new CameraRpc2(entry.session);
    this.realm = `Login to camgate (${entry.id})`;
  }

  /**
   * `global.login` on `/RPC2_Login`: step 1 a challenge; step 2 judged against the camgate user (the
   * failure counted against the address, as at every door), or accepted for a caller the front door already
   * knows (`signedIn`: a session cookie, a token).
   */
  login(message: Rpc2Message, address: string, signedIn: Principal | undefined): Answer {
    const base = { id: message.id ?? null };
    if (message.method !== "global.login")
      return { ...base, result: false, error: error(RPC2_CODES.methodNotFound, "Method not found!") };
    const params = (message.params ?? {}) as { userName?: unknown; password?: unknown };
    const userName = typeof params.userName === "string" ? params.userName : "";
    const password = typeof params.password === "string" ? params.password : "";
    this.sweep();
    const challenge = typeof message.session === "string" ? this.challenges.get(message.session) : undefined;
    if (password === "" || !challenge) {
      const id = randomBytes(16).toString("hex");
      const random = String(randomBytes(4).readUInt32BE(0));
      if (this.challenges.size >= MAX_CHALLENGES)
        this.challenges.delete(this.challenges.keys().next().value as string);
      this.challenges.set(id, { random, at: this.now() });
      return {
        ...base,
        result: false,
        error: error(RPC2_CODES.challenge, "Component error: login challenge!"),
        params: { encryption: "Default", random, realm: this.realm },
        session: id,
      };
    }
    this.challenges.delete(message.session as string);
    const refused = {
      ...base,
      result: false,
      error: error(RPC2_CODES.passwordInvalid, "Component error: password not valid!"),
    };
    let principal = signedIn;
    if (!principal) {
      const door = this.ctx.auth.preamble(address);
      if (door.kind === "blocked")
        return {
          ...base,
          result: false,
          error: error(RPC2_CODES.locked, "Component error: user has been locked!"),
        };
      if (door.kind === "open") principal = door.principal;
      else {
        // The response hashes the password: only a password or token kept in plain form can check it.
        const known = this.ctx.auth.digestSecrets(userName);
        const expected = password.toUpperCase();
        const ok = known?.secrets.some(
          (secret) => rpc2LoginHash(userName, this.realm, challenge.random, secret) === expected,
        );
        if (!known || !ok) {
          door.failed();
          return refused;
        }
        principal = { ...known.principal, via: "rpc2" };
      }
    }
    if (!canSeeCamera(principal, this.entry.id)) return refused;
    if (this.tokens.size >= MAX_TOKENS) this.tokens.delete(this.tokens.keys().next().value as string);
    // The session of the challenge goes on as the token, as firmware keeps one session id across both steps
    // (rroller/dahua's client keeps step 1's for its calls).
    const token = message.session as string;
    this.tokens.set(token, { principal, lastSeen: this.now(), keepAliveMs: KEEPALIVE_S * 1000 });
    return { ...base, result: true, params: { keepAliveInterval: KEEPALIVE_S }, session: token };
  }

  /** A call on `/RPC2` with a token of camgate's. */
  async call(message: Rpc2Message): Promise<Answer> {
    const base = { id: message.id ?? null, session: message.session ?? null };
    this.sweep();
    const token = typeof message.session === "string" ? this.tokens.get(message.session) : undefined;
    if (!token)
      return {
        ...base,
        result: false,
        error: error(RPC2_CODES.sessionInvalid, "Invalid session in request data!"),
      };
    token.lastSeen = this.now();
    const principal = token.principal;
    switch (message.method) {
      // One tab's logout ends its own token, never camgate's session with the camera.
      case "global.logout":
        this.tokens.delete(message.session as string);
        return { ...base, result: true };
      case "global.keepAlive": {
        const asked = (message.params as { timeout?: unknown } | undefined)?.timeout;
        const timeout = typeof asked === "number" && asked > 0 ? Math.min(asked, 3600) : KEEPALIVE_S;
        token.keepAliveMs = timeout * 1000;
        return { ...base, result: true, params: { timeout } };
      }
    }
    const needed = rpc2RoleForMessage(message);
    if (!roleAllows(principal.role, needed)) {
      this.ctx.logger.info(
        { camera: this.entry.id, user: principal.name, method: message.method, needed },
        "camera UI: call refused by role",
      );
      const why = ENCRYPTED.has(message.method)
        ? "camgate cannot see inside encrypted calls, so only admins may send them (the camera's UI is read-only for you here)"
        : `camgate: ${message.method} needs the ${needed} role`;
      return { ...base, result: false, error: error(RPC2_CODES.requestInvalid, why) };
    }
    let answer: Answer;
    try {
      answer = await this.camera.call({
        method: message.method,
        ...(message.params !== undefined ? { params: message.params } : {}),
        ...(message.object !== undefined ? { object: message.object } : {}),
      });
    } catch (failure) {
      this.ctx.logger.warn(
        { camera: this.entry.id, err: errorText(failure) },
        "camera UI: the camera's RPC2 failed",
      );
      return {
        ...base,
        result: false,
        error: error(RPC2_CODES.requestInvalid, "camgate: the camera did not answer"),
      };
    }
    if (principal.role !== "admin") answer = this.redacted(message, answer);
    this.ctx.logger.info(
      { camera: this.entry.id, user: principal.name, method: message.method, result: answer.result === true },
      "camera UI call",
    );
    // The camera's session id stays camgate's.
    return { ...answer, ...base };
  }

  async close(): Promise<void> {
    this.tokens.clear();
    await this.camera.close();
  }

  /** Config answers without secrets (a multicall's, call by call). */
  private redacted(message: Rpc2Message, answer: Answer): Answer {
    const redactOne = (call: { method?: unknown; params?: unknown }, reply: Answer): Answer => {
      if (call.method !== "configManager.getConfig" && call.method !== "configManager.getDefault")
        return reply;
      const name = (call.params as { name?: unknown } | undefined)?.name;
      const params = reply.params as { table?: unknown } | undefined;
      if (typeof name !== "string" || params?.table === undefined) return reply;
      return { ...reply, params: { ...params, table: redactRpc2(params.table, name) } };
    };
    if (message.method !== "system.multicall") return redactOne(message, answer);
    const calls = Array.isArray(message.params)
      ? (message.params as { method?: unknown; params?: unknown }[])
      : [];
    const replies = Array.isArray(answer.params) ? (answer.params as Answer[]) : [];
    return { ...answer, params: replies.map((reply, i) => redactOne(calls[i] ?? {}, reply)) };
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, token] of this.tokens)
      if (now - token.lastSeen > token.keepAliveMs) this.tokens.delete(id);
    for (const [id, challenge] of this.challenges)
      if (now - challenge.at > CHALLENGE_MS) this.challenges.delete(id);
  }
}
