/**
 * One look at a camera's RTSP main stream for `config check --probe` (issue 27): OPTIONS and DESCRIBE,
 * under the session's login rules (one login at a time while unproven, none during a refusal's backoff,
 * a refusal starts the same backoff), so a probe can never add to a lockout. Says what the stream is, or
 * why it cannot be read: the port not answering is a stream's problem, not the camera's health.
 */
import { parseSdp } from "../protocol/sdp.ts";
import { CameraError } from "./errors.ts";
import { judgeRtspLogin, RtspConnection } from "./rtsp-connection.ts";
import type { CameraSession } from "./session.ts";

export interface RtspProbe {
  host: string;
  port: number;
  path: string;
}

/** A line about the stream (`H264 video, PCMA audio`); throws a `CameraError` saying why not. */
export async function probeRtsp(session: CameraSession, target: RtspProbe): Promise<string> {
  const turn = await session.loginTurn();
  const { username, password } = session.credentials;
  const url = `rtsp://${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}${target.path}`;
  const connection = new RtspConnection({
    camera: session.id,
    host: target.host,
    port: target.port,
    username,
    password,
    connectTimeoutMs: 5000,
    responseTimeoutMs: 5000,
    onFrame: () => undefined,
    onClose: () => undefined,
  });
  let judged = false;
  try {
    try {
      await connection.open();
    } catch (error) {
      throw new CameraError("unreachable", session.id, `RTSP unreachable on port ${target.port}`, {
        cause: error,
      });
    }
    const options = await connection.request("OPTIONS", url);
    const describe =
      options.status === 401
        ? options
        : await connection.request("DESCRIBE", url, [["Accept", "application/sdp"]]);
    judged = true;
    judgeRtspLogin(turn, describe.status);
    if (describe.status !== 200)
      throw new CameraError(
        "rejected",
        session.id,
        `RTSP DESCRIBE of ${target.path} answered ${describe.status}`,
        {
          status: describe.status,
        },
      );
    const media = parseSdp(describe.body.toString("utf8")).media;
    return media.map((m) => `${m.encoding || m.payloadType} ${m.kind}`).join(", ") || "no media";
  } catch (error) {
    if (!judged) turn.failed(error);
    throw error;
  } finally {
    connection.close();
  }
}
