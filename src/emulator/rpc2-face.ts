/**
 * The JSON-RPC the camera's own web UI speaks (`/RPC2_Login`, `/RPC2`), as firmware does it and as public
 * client libraries describe it (rroller/dahua `rpc2.py`, after a gist reversed from the UI's rpcCore.js;
 * DahuaConsole logs in rroller/dahua#6; error codes from the UI's interfaceLogin.js as quoted by public
 * clients):
 *
 * - Login in two steps: `global.login` with an empty password answers `result: false`, error 268632079 (the
 *   challenge), a session, and `realm`, `random`, `encryption: "Default"`; the second `global.login` sends
 *   `MD5(user:random:MD5(user:realm:password))` (upper-case hex) with the same session. A wrong password is
 *   268632071 and counts toward the lockout like every other door's; a locked address is 268632081.
 * - Every other call is POST `/RPC2` with `{method, params, id, session}`; without a live session the answer
 *   is `result: false` with the invalid-session error. Sessions end at `global.logout`, or when nothing
 *   kept them alive for their keep-alive time (`global.keepAlive` with `timeout`, 60 s at login).
 * - Methods: `global.logout`, `global.keepAlive`, `global.getCurrentTime`, `magicBox.getSerialNo`,
 *   `getDeviceType`, `getMachineName`, `getSoftwareVersion`, `configManager.getConfig` (`{name}` ->
 *   `{table}`), `configManager.setConfig` (`{name, table}`), `userManager.getUserInfoAll` and
 *   `system.multicall` (its params an array of calls, answered in order); anything else is 268894210.
 *
 * Independent of the gateway: its own MD5 and JSON handling.
 */
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { getAtPath, type JsonObject, type JsonValue, parsePath, setAtPath } from "../protocol/kv.ts";
import { readRequestBody } from "./request-body.ts";

/** Error codes as the web UI's interfaceLogin.js names them (quoted by public RPC2 clients). */
export const RPC2_ERRORS = {
  challenge: { code: 268632079, message: "Component error: login challenge!" },
  userInvalid: { code: 268632070, message: "Component error: user's name not valid!" },
  passwordInvalid: { code: 268632071, message: "Component error: password not valid!" },
  locked: { code: 268632081, message: "Component error: user has been locked!" },
  methodNotFound: { code: 268894210, message: "Method not found!" },
  requestInvalid: { code: 268894209, message: "Request invalid!" },
  invalidParam: { code: 268894211, message: "Request invalid param!" },
  sessionInvalid: { code: 28763750, message: "Invalid session in request data!" },
} as const;

const MAX_REQUEST_BYTES = 64 * 1024;
const DEFAULT_KEEPALIVE_S = 60;
const MAX_SESSIONS = 32;
/** A login challenge not answered within this is forgotten. */
const CHALLENGE_MS = 60_000;

export interface Rpc2Camera {
  serial: string;
  username: string;
  realm: string;
  deviceType: string;
  softwareVersion: string;
  config: JsonObject;
  password(): string;
  machineName(): string;
  cameraTime(): string;
  isLocked(address: string): boolean;
  noteLogin(ok: boolean, address: string, type: string): void;
  configChanged(): Promise<void>;
  now(): number;
}

interface Session {
  id: string;
  user: string | undefined;
  /** Step 1 done, step 2 not yet: the random to check against. */
  random: string | undefined;
  loggedIn: boolean;
  keepAliveMs: number;
  lastSeen: number;
}

interface Call {
  method: string;
  params?: JsonValue;
  id?: JsonValue;
  session?: JsonValue;
}

const md5Upper = (text: string) => createHash("md5").update(text, "utf8").digest("hex").toUpperCase();

export class EmulatedRpc2 {
  private readonly sessions = new Map<string, Session>();
  readonly counters = { logins: 0, refused: 0, calls: 0, expired: 0 };

  constructor(private readonly camera: Rpc2Camera) {}

  async handle(req: IncomingMessage, res: ServerResponse, path: string, address: string): Promise<void> {
    if (req.method !== "POST") return reply(res, 405, { result: false, error: RPC2_ERRORS.requestInvalid });
    let call: Call;
    try {
      const parsed = JSON.parse(await readRequestBody(req, MAX_REQUEST_BYTES)) as unknown;
      if (!parsed || typeof parsed !== "object" || typeof (parsed as Call).method !== "string")
        throw new Error("no method");
      call = parsed as Call;
    } catch {
      return reply(res, 400, { result: false, error: RPC2_ERRORS.requestInvalid });
    }
    this.sweep();
    if (path === "/RPC2_Login") return reply(res, 200, this.login(call, address));
    return reply(res, 200, await this.call(call));
  }

  /** Live sessions (for the tests). */
  get openSessions(): number {
    this.sweep();
    return [...this.sessions.values()].filter((s) => s.loggedIn).length;
  }

  private login(call: Call, address: string): JsonObject {
    const params = (isObject(call.params) ? call.params : {}) as JsonObject;
    const user = typeof params.userName === "string" ? params.userName : undefined;
    const password = typeof params.password === "string" ? params.password : "";
    const base = { id: call.id ?? null };
    if (call.method !== "global.login") return { ...base, result: false, error: RPC2_ERRORS.methodNotFound };
    if (this.camera.isLocked(address))
      return { ...base, result: false, error: RPC2_ERRORS.locked, session: 0 };
    const known =
      typeof call.session === "string" || typeof call.session === "number"
        ? this.sessions.get(String(call.session))
        : undefined;
    if (password === "" || !known?.random) {
      // Step 1: a challenge for a new session.
      if (this.sessions.size >= MAX_SESSIONS) this.evictOldest();
      const random = String(randomBytes(4).readUInt32BE(0));
      const session: Session = {
        id: randomBytes(16).toString("hex"),
        user,
        random,
        loggedIn: false,
        keepAliveMs: CHALLENGE_MS,
        lastSeen: this.camera.now(),
      };
      this.sessions.set(session.id, session);
      return {
        ...base,
        result: false,
        error: RPC2_ERRORS.challenge,
        params: {
          authorization: randomBytes(20).toString("hex"),
          encryption: "Default",
          random,
          realm: this.camera.realm,
        },
        session: session.id,
      };
    }
    const session = known;
    if (user !== this.camera.username) {
      this.sessions.delete(session.id);
      this.counters.refused++;
      this.camera.noteLogin(false, address, "RPC2");
      return { ...base, result: false, error: RPC2_ERRORS.userInvalid, session: session.id };
    }
    const ha = md5Upper(`${user}:${this.camera.realm}:${this.camera.password()}`);
    const expected = md5Upper(`${user}:${session.random}:${ha}`);
    if (password.toUpperCase() !== expected) {
      this.sessions.delete(session.id);
      this.counters.refused++;
      this.camera.noteLogin(false, address, "RPC2");
      return { ...base, result: false, error: RPC2_ERRORS.passwordInvalid, session: session.id };
    }
    this.camera.noteLogin(true, address, "RPC2");
    this.counters.logins++;
    session.random = undefined;
    session.loggedIn = true;
    session.keepAliveMs = DEFAULT_KEEPALIVE_S * 1000;
    session.lastSeen = this.camera.now();
    return { ...base, result: true, params: { keepAliveInterval: DEFAULT_KEEPALIVE_S }, session: session.id };
  }

  private async call(call: Call): Promise<JsonObject> {
    const id = String(call.session ?? "");
    const session = this.sessions.get(id);
    const base = { id: call.id ?? null, session: call.session ?? null };
    if (!session?.loggedIn) return { ...base, result: false, error: RPC2_ERRORS.sessionInvalid };
    session.lastSeen = this.camera.now();
    return { ...base, ...(await this.run(call, session)) };
  }

  /** One method of a live session: `result` and `params`, or `result: false` with an error. */
  private async run(call: Call, session: Session): Promise<JsonObject> {
    this.counters.calls++;
    const params = (isObject(call.params) ? call.params : {}) as JsonObject;
    switch (call.method) {
      case "global.logout":
        this.sessions.delete(session.id);
        return { result: true };
      case "global.keepAlive": {
        const timeout =
          typeof params.timeout === "number" && params.timeout > 0
            ? Math.min(params.timeout, 3600)
            : DEFAULT_KEEPALIVE_S;
        session.keepAliveMs = timeout * 1000;
        return { result: true, params: { timeout } };
      }
      case "global.getCurrentTime":
        return { result: true, params: { time: this.camera.cameraTime() } };
      case "magicBox.getSerialNo":
        return { result: true, params: { sn: this.camera.serial } };
      case "magicBox.getDeviceType":
        return { result: true, params: { type: this.camera.deviceType } };
      case "magicBox.getMachineName":
        return { result: true, params: { name: this.camera.machineName() } };
      case "magicBox.getSoftwareVersion": {
        const [version, build] = this.camera.softwareVersion.split(",build:");
        return { result: true, params: { version: { Version: version ?? "", BuildDate: build ?? "" } } };
      }
      case "configManager.getConfig": {
        if (typeof params.name !== "string") return { result: false, error: RPC2_ERRORS.invalidParam };
        const table = getAtPath(this.camera.config, parsePath(params.name));
        if (table === undefined) return { result: false, error: RPC2_ERRORS.invalidParam };
        return { result: true, params: { table } };
      }
      case "configManager.setConfig": {
        if (typeof params.name !== "string" || params.table === undefined)
          return { result: false, error: RPC2_ERRORS.invalidParam };
        const path = parsePath(params.name);
        if (getAtPath(this.camera.config, path) === undefined)
          return { result: false, error: RPC2_ERRORS.invalidParam };
        setAtPath(this.camera.config, path, params.table);
        await this.camera.configChanged();
        return { result: true };
      }
      case "userManager.getUserInfoAll":
        return {
          result: true,
          params: {
            users: [
              {
                Id: 1,
                Name: this.camera.username,
                Group: "admin",
                Password: "******",
                Memo: "admin 's account",
                Reserved: true,
                Sharable: true,
              },
            ],
          },
        };
      case "system.multicall": {
        const calls = Array.isArray(call.params) ? call.params : [];
        if (calls.length > 64) return { result: false, error: RPC2_ERRORS.invalidParam };
        const answers: JsonValue[] = [];
        for (const inner of calls) {
          if (!isObject(inner) || typeof inner.method !== "string" || inner.method === "system.multicall") {
            answers.push({
              id: isObject(inner) ? (inner.id ?? null) : null,
              result: false,
              error: RPC2_ERRORS.requestInvalid,
            });
            continue;
          }
          answers.push({ id: inner.id ?? null, ...(await this.run(inner as unknown as Call, session)) });
        }
        return { result: true, params: answers };
      }
      default:
        return { result: false, error: RPC2_ERRORS.methodNotFound };
    }
  }

  private sweep(): void {
    const now = this.camera.now();
    for (const [id, session] of this.sessions)
      if (now - session.lastSeen > session.keepAliveMs) {
        this.sessions.delete(id);
        if (session.loggedIn) this.counters.expired++;
      }
  }

  private evictOldest(): void {
    const [oldest] = [...this.sessions.values()].sort((a, b) => a.lastSeen - b.lastSeen);
    if (oldest) this.sessions.delete(oldest.id);
  }
}

const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === "object" && !Array.isArray(value);

function reply(res: ServerResponse, status: number, body: JsonObject): void {
  if (res.headersSent || res.destroyed) return;
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": payload.length,
  });
  res.end(payload);
}
