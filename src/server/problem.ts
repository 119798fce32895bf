/** Errors as `application/problem+json` (RFC 9457), with the CameraError code kept as `code`. */
import type { FastifyReply } from "fastify";
import { CameraError, type CameraErrorCode } from "../camera/errors.ts";

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  camera?: string;
}

const CAMERA_STATUS: Record<CameraErrorCode, number> = {
  unreachable: 502,
  timeout: 504,
  "auth-failed": 502,
  "locked-out": 502,
  busy: 503,
  unsupported: 501,
  rejected: 422,
  forbidden: 403,
  "bad-response": 502,
};

const TITLES: Record<string, string> = {
  unreachable: "The camera cannot be reached",
  timeout: "The camera did not answer in time",
  "auth-failed": "The camera refused camgate's credentials",
  "locked-out": "The camera has locked camgate out",
  busy: "All connections to the camera are in use",
  unsupported: "The camera does not support this",
  rejected: "The camera rejected the request",
  forbidden: "The camera's user lacks the right for this",
  "bad-response": "The camera answered something camgate cannot use",
  unauthorized: "Authentication required",
  "too-many-failures": "Too many failed logins",
  "not-allowed": "Your role does not allow this",
  "not-found": "Not found",
  "bad-request": "Bad request",
  internal: "Internal error",
};

export function problem(status: number, code: string, detail?: string, camera?: string): Problem {
  return {
    type: `urn:camgate:problem:${code}`,
    title: TITLES[code] ?? code,
    status,
    code,
    ...(detail !== undefined ? { detail } : {}),
    ...(camera !== undefined ? { camera } : {}),
  };
}

export function problemFromError(error: unknown): { problem: Problem; retryAfterSeconds?: number } {
  if (error instanceof CameraError) {
    const status = CAMERA_STATUS[error.code];
    const retry =
      error.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(error.retryAfterMs / 1000));
    return {
      problem: problem(status, error.code, error.message, error.camera),
      ...(retry !== undefined && (status === 503 || error.code === "auth-failed")
        ? { retryAfterSeconds: retry }
        : {}),
    };
  }
  const validation = error as { validation?: unknown; statusCode?: number; message?: string };
  if (validation.validation !== undefined || validation.statusCode === 400) {
    return { problem: problem(400, "bad-request", validation.message) };
  }
  if (
    typeof validation.statusCode === "number" &&
    validation.statusCode >= 400 &&
    validation.statusCode < 500
  ) {
    return { problem: problem(validation.statusCode, "bad-request", validation.message) };
  }
  return { problem: problem(500, "internal", "see the server log") };
}

export function sendProblem(reply: FastifyReply, value: Problem, retryAfterSeconds?: number): FastifyReply {
  if (retryAfterSeconds !== undefined) reply.header("Retry-After", String(retryAfterSeconds));
  return reply.code(value.status).type("application/problem+json").send(value);
}
