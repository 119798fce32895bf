/** Typed errors of the upstream side, each with a stable `code` the REST API maps to a status. */
import type { CgiFailure } from "../protocol/cgi.ts";

/**
 * What went wrong with a camera call. The CGI answer codes come from `protocol/cgi.ts`; the rest are the
 * session's: the camera cannot be reached or did not answer in time, refused the credentials, has all its
 * connections in use, or the input cannot be sent to it at all (`invalid-argument`: nothing was sent).
 */
export type CameraErrorCode =
  | CgiFailure
  | "unreachable"
  | "timeout"
  | "auth-failed"
  | "busy"
  | "invalid-argument";

export class CameraError extends Error {
  readonly code: CameraErrorCode;
  readonly camera: string;
  /** HTTP status from the camera, where there was one. */
  readonly status: number | undefined;
  /** When to try again, for `busy` and `auth-failed`. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: CameraErrorCode,
    camera: string,
    message: string,
    extra: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(`camera ${camera}: ${message}`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "CameraError";
    this.code = code;
    this.camera = camera;
    this.status = extra.status;
    this.retryAfterMs = extra.retryAfterMs;
  }
}

export function isCameraError(error: unknown, code?: CameraErrorCode): error is CameraError {
  return error instanceof CameraError && (code === undefined || error.code === code);
}
