/**
 * camgate's own RPC2 session with a camera (the web UI's JSON-RPC), for the camera's web UI served behind
 * camgate's login: one session per camera, logged in with the camera's credentials under the session's
 * no-lockout rules (a login turn: one trial while unproven, a refusal starts the backoff every door shares),
 * renewed once when the camera says it no longer knows it.
 */
import { RPC2_CODES, rpc2LoginHash } from "../protocol/rpc2.ts";
import { CameraError } from "./errors.ts";
import type { CameraSession } from "./session.ts";

export type Rpc2Answer = Record<string, unknown> & { result?: unknown; error?: { code?: number } };

const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export class CameraRpc2 {
  private session: string | undefined;
  private loggingIn: Promise<string> | undefined;
  private nextId = 1;

  constructor(private readonly camera: CameraSession) {}

  /** One call on camgate's session (its `session` and `id` are camgate's); renewed once if the camera lost it. */
  async call(message: Record<string, unknown>): Promise<Rpc2Answer> {
    for (let attempt = 0; ; attempt++) {
      const session = this.session ?? (await this.login());
      const answer = await this.post("/RPC2", { ...message, session, id: this.nextId++ });
      if (answer.result === false && answer.error?.code === RPC2_CODES.sessionInvalid && attempt === 0) {
        if (this.session === session) this.session = undefined;
        continue;
      }
      return answer;
    }
  }

  /** Ends camgate's session with the camera (best effort: it lapses by itself otherwise). */
  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session)
      await this.post("/RPC2", { method: "global.logout", session, id: this.nextId++ }).catch(
        () => undefined,
      );
  }

  private login(): Promise<string> {
    this.loggingIn ??= this.loginOnce().finally(() => {
      this.loggingIn = undefined;
    });
    return this.loggingIn;
  }

  private async loginOnce(): Promise<string> {
    const { username, password } = this.camera.credentials;
    const turn = await this.camera.loginTurn();
    try {
      const challenge = await this.post("/RPC2_Login", {
        method: "global.login",
        params: { userName: username, password: "", clientType: "Web3.0" },
        id: this.nextId++,
      });
      const params = (challenge.params ?? {}) as { realm?: unknown; random?: unknown };
      if (challenge.error?.code === RPC2_CODES.locked)
        throw turn.refused("the camera's RPC2 login says the account is locked");
      if (
        typeof params.realm !== "string" ||
        typeof params.random !== "string" ||
        (typeof challenge.session !== "string" && typeof challenge.session !== "number")
      )
        throw new CameraError("bad-response", this.camera.id, "the RPC2 login answered without a challenge");
      const answer = await this.post("/RPC2_Login", {
        method: "global.login",
        params: {
          userName: username,
          password: rpc2LoginHash(username, params.realm, params.random, password),
          clientType: "Web3.0",
          authorityType: "Default",
          passwordType: "Default",
        },
        session: challenge.session,
        id: this.nextId++,
      });
      if (answer.result !== true) {
        const code = answer.error?.code;
        if (
          code === RPC2_CODES.passwordInvalid ||
          code === RPC2_CODES.userInvalid ||
          code === RPC2_CODES.locked
        )
          throw turn.refused(`the camera refused camgate's RPC2 login (${code})`);
        throw new CameraError("bad-response", this.camera.id, `the RPC2 login failed (${code ?? "no code"})`);
      }
      turn.succeeded();
      this.session = String(answer.session ?? challenge.session);
      return this.session;
    } catch (error) {
      if (!(error instanceof CameraError && error.code === "auth-failed")) turn.failed(error);
      throw error;
    }
  }

  private async post(target: string, body: Record<string, unknown>): Promise<Rpc2Answer> {
    const response = await this.camera.request({
      target,
      method: "POST",
      anonymous: true,
      headers: { "Content-Type": "application/json" },
      body: Buffer.from(JSON.stringify(body)),
    });
    if (response.body.length > MAX_ANSWER_BYTES)
      throw new CameraError("bad-response", this.camera.id, "the RPC2 answer is too large");
    let answer: unknown;
    try {
      answer = JSON.parse(response.body.toString("utf8"));
    } catch {
      answer = undefined;
    }
    if (response.status !== 200 || !answer || typeof answer !== "object" || Array.isArray(answer))
      throw new CameraError(
        "bad-response",
        this.camera.id,
        `the RPC2 answer is not a JSON object (HTTP ${response.status})`,
      );
    return answer as Rpc2Answer;
  }
}
