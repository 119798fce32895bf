/**
 * The one error catalogue of the API (as fastify's `lib/errors.js` and undici's `lib/core/errors.js` keep
 * theirs): every problem code the API can answer, with its HTTP status and title, in one table. Routes throw
 * `ApiProblem` (or let a `CameraError` through); the single error handler (`installErrorHandler`) maps
 * whatever was thrown to `application/problem+json` (RFC 9457) and logs every 5xx once, with the request id
 * and the camera. docs/api-errors.md lists the same table for API clients (a test keeps the two equal).
 */
import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { TemplateError } from "../backup/provision.ts";
import { CameraError, type CameraErrorCode } from "../camera/errors.ts";
import { PtzCommandError } from "../camera/ptz-command.ts";
import { ConfigEditError } from "../config/config-edits.ts";
import { ConfigError } from "../config/load.ts";
import { NoConfigFileError } from "../config/reload-plan.ts";
import { DeviceArgumentError } from "../protocol/cgi-target.ts";

export const PROBLEMS = {
  // The request.
  "bad-request": { status: 400, title: "The request is not valid" },
  "invalid-argument": { status: 400, title: "The camera cannot take this value" },
  "invalid-ptz-command": { status: 400, title: "Not a PTZ command camgate can send" },
  "unsafe-target": { status: 400, title: "The CGI request target is refused" },
  "ambiguous-query": { status: 400, title: "The CGI query names a parameter twice" },
  "invalid-template": { status: 400, title: "Not a provisioning template" },
  unauthorized: { status: 401, title: "Authentication required" },
  "not-allowed": { status: 403, title: "Your role does not allow this" },
  "csrf-header-missing": { status: 403, title: "A change made with a session cookie needs the CSRF header" },
  "not-found": { status: 404, title: "Not found" },
  "body-too-large": { status: 413, title: "The request body is too large" },
  "unsupported-media-type": { status: 415, title: "The request body's type is not accepted" },
  "unknown-config-path": { status: 422, title: "The camera has no such config path" },
  "not-applied": { status: 422, title: "The camera answered OK but did not keep the value" },
  "too-many-failures": { status: 429, title: "Too many failed logins" },
  "bad-offer": { status: 400, title: "Not a WebRTC offer camgate can answer" },
  "codec-unsupported": { status: 422, title: "The stream's codec cannot be sent this way" },
  "stream-unavailable": { status: 503, title: "The camera's stream is not available now" },
  "webrtc-full": { status: 503, title: "camgate serves as many WebRTC viewers as it is set to" },
  "hls-full": { status: 503, title: "camgate serves as many HLS sessions as it can hold" },
  "evidence-busy": { status: 429, title: "Too many evidence archives are being prepared" },
  "invalid-config": { status: 422, title: "The config file does not validate; the running config stays" },
  "no-config-file": { status: 409, title: "camgate runs without a config file" },
  conflict: { status: 409, title: "The change conflicts with the config as it is" },
  "camera-probe-failed": { status: 422, title: "camgate could not use the camera with these settings" },
  "talk-busy": { status: 409, title: "Someone else is talking through this camera" },
  "bad-origin": { status: 403, title: "The request comes from another site" },
  "not-owner": { status: 503, title: "Another camgate instance owns this camera right now" },
  // The camera (each CameraError code is a problem code of the same name).
  forbidden: { status: 403, title: "The camera's user lacks the right for this" },
  rejected: { status: 422, title: "The camera rejected the request" },
  unsupported: { status: 501, title: "The camera does not support this" },
  unreachable: { status: 502, title: "The camera cannot be reached" },
  "auth-failed": { status: 502, title: "The camera refused camgate's credentials" },
  "bad-response": { status: 502, title: "The camera answered something camgate cannot use" },
  busy: { status: 503, title: "All connections to the camera are in use" },
  timeout: { status: 504, title: "The camera did not answer in time" },
  // camgate itself.
  internal: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/** Every camera error is a problem with the same code (checked by the compiler). */
const cameraProblem: Record<CameraErrorCode, ProblemCode> = {
  unreachable: "unreachable",
  timeout: "timeout",
  "auth-failed": "auth-failed",
  busy: "busy",
  unsupported: "unsupported",
  rejected: "rejected",
  forbidden: "forbidden",
  "bad-response": "bad-response",
  "invalid-argument": "invalid-argument",
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: ProblemCode;
  camera?: string;
}

/** What routes throw for an answer other than success. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly camera: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    extra: { camera?: string; retryAfterSeconds?: number } = {},
  ) {
    super(detail ?? PROBLEMS[code].title);
    this.name = "ApiProblem";
    this.status = PROBLEMS[code].status;
    this.camera = extra.camera;
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

function problemOf(code: ProblemCode, detail: string | undefined, camera?: string): Problem {
  return {
    type: `urn:camgate:problem:${code}`,
    title: PROBLEMS[code].title,
    status: PROBLEMS[code].status,
    code,
    ...(detail !== undefined ? { detail } : {}),
    ...(camera !== undefined ? { camera } : {}),
  };
}

export interface MappedProblem {
  problem: Problem;
  retryAfterSeconds?: number;
}

/** Whatever a route threw, as the problem the client gets. */
export function toProblem(error: unknown): MappedProblem {
  if (error instanceof ApiProblem) {
    return {
      problem: problemOf(error.code, error.detail, error.camera),
      ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    };
  }
  if (error instanceof CameraError) {
    const code = cameraProblem[error.code];
    const retry =
      error.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(error.retryAfterMs / 1000));
    const sayRetry = retry !== undefined && (code === "busy" || code === "auth-failed");
    return {
      problem: problemOf(code, error.message, error.camera),
      ...(sayRetry ? { retryAfterSeconds: retry } : {}),
    };
  }
  if (error instanceof PtzCommandError) return { problem: problemOf("invalid-ptz-command", error.message) };
  if (error instanceof DeviceArgumentError) return { problem: problemOf("invalid-argument", error.message) };
  if (error instanceof TemplateError) return { problem: problemOf("invalid-template", error.message) };
  if (error instanceof ConfigError) return { problem: problemOf("invalid-config", error.message) };
  if (error instanceof NoConfigFileError) return { problem: problemOf("no-config-file", error.message) };
  if (error instanceof ConfigEditError)
    return { problem: problemOf(error.code === "not-found" ? "not-found" : "conflict", error.message) };
  const fastify = error as Partial<FastifyError>;
  if (fastify.validation !== undefined) return { problem: problemOf("bad-request", fastify.message) };
  if (fastify.statusCode === 413) return { problem: problemOf("body-too-large", fastify.message) };
  if (fastify.statusCode === 415) return { problem: problemOf("unsupported-media-type", fastify.message) };
  // fastify's own client errors (a malformed JSON body, an empty body with a JSON type, ...).
  if (typeof fastify.statusCode === "number" && fastify.statusCode >= 400 && fastify.statusCode < 500)
    return { problem: problemOf("bad-request", fastify.message) };
  return { problem: problemOf("internal", "see the server log") };
}

export function sendProblem(reply: FastifyReply, mapped: MappedProblem): FastifyReply {
  if (mapped.retryAfterSeconds !== undefined) reply.header("Retry-After", String(mapped.retryAfterSeconds));
  return reply.code(mapped.problem.status).type("application/problem+json").send(mapped.problem);
}

/**
 * The single place errors become answers: every route's throw lands here. A 5xx is logged once, with the
 * request id (fastify's request logger carries `reqId`) and the camera; camgate's own failures at error,
 * a camera's at warn.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const mapped = toProblem(error);
    const { problem } = mapped;
    if (problem.status >= 500) {
      const fields = {
        err: error,
        ...(problem.camera ? { camera: problem.camera } : {}),
        code: problem.code,
      };
      if (problem.code === "internal") request.log.error(fields, "request failed");
      else request.log.warn(fields, "request failed at the camera");
    }
    return sendProblem(reply, mapped);
  });
  app.setNotFoundHandler((request) => {
    throw new ApiProblem("not-found", `no route ${request.method} ${request.url.split("?")[0]}`);
  });
}
