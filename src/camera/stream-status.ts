/**
 * How a long-lived camera stream (MJPEG, events, later RTSP) tells the layers above what happened to it: a
 * state, and when it went down, a typed reason. Consumers decide on `code`, never on message text.
 */
import { CameraError } from "./errors.ts";

export type StreamState = "idle" | "connecting" | "live" | "down";

export type StreamDownCode =
  /** Connected, but nothing (not even a heartbeat) arrived within the watchdog's limit. */
  | "stalled"
  /** The camera ended or closed the stream, or the connection broke while it ran. */
  | "ended"
  /** The camera answered, but not with the stream: an error status, a wrong type, refused credentials, busy. */
  | "refused"
  /** No connection could be made, or no answer came in time. */
  | "unreachable"
  /** The stream's bytes could not be parsed. */
  | "malformed";

export interface StreamDown {
  code: StreamDownCode;
  /** The underlying error, for logs, status pages and the API. */
  error: CameraError;
}

/** The reason a stream could not be opened, from the session's error. */
export function downFromError(error: unknown, camera: string): StreamDown {
  const cameraError =
    error instanceof CameraError ? error : new CameraError("bad-response", camera, String(error));
  switch (cameraError.code) {
    case "unreachable":
    case "timeout":
      return { code: "unreachable", error: cameraError };
    case "bad-response":
      return { code: "malformed", error: cameraError };
    default:
      return { code: "refused", error: cameraError };
  }
}
