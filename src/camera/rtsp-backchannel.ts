/**
 * Talking through a camera's ONVIF RTSP backchannel (ONVIF Streaming Specification §5.3): DESCRIBE with
 * `Require: www.onvif.org/ver20/backchannel`, the camera's SDP lists the track it *receives* as
 * `a=sendonly` (the client sends only), SETUP that track interleaved, PLAY, then RTP packets of G.711 go
 * the other way on the same TCP connection. Only when a camera has no CGI audio and its owner asked for it
 * (`cameras[].talk: backchannel`): an open backchannel makes Dahua and Amcrest doorbells act as if in a call,
 * button and chime silent (rtsp-h264.md quirk 7, go2rtc #95, frigate #5020), so it is open only while
 * someone talks. It takes one of the camera's RTSP sessions and logs in under the session's rules.
 */
import { randomInt } from "node:crypto";
import type { G711Law } from "../media/g711.ts";
import { writeRtpHeader } from "../media/rtp.ts";
import { interleavedHeader, parseSession } from "../protocol/rtsp.ts";
import { parseSdp, resolveControl } from "../protocol/sdp.ts";
import { BudgetTimeoutError, type ConnectionBudget } from "./budget.ts";
import { CameraError } from "./errors.ts";
import { judgeRtspLogin, RtspConnection } from "./rtsp-connection.ts";
import type { CameraSession } from "./session.ts";

export const BACKCHANNEL_REQUIRE = "www.onvif.org/ver20/backchannel";

/** 20 ms of 8 kHz G.711 per packet, as cameras expect. */
const SAMPLES_PER_PACKET = 160;
/** 2 s of G.711 waiting in the socket at most. */
const MAX_BACKLOG_BYTES = 16_000;

export interface BackchannelOptions {
  session: CameraSession;
  budget: ConnectionBudget;
  host: string;
  port: number;
  /** The stream's path (Dahua: `/cam/realmonitor?channel=1&subtype=0&unicast=true&proto=Onvif`). */
  path: string;
  law: G711Law;
  connectTimeoutMs?: number;
  /** The connection ended without close() (the camera hung up). */
  onClose?: (error: CameraError) => void;
}

export interface Backchannel {
  /** G.711 bytes, sent as 20 ms RTP packets. */
  send(g711: Buffer): void;
  close(): void;
  readonly packetsSent: number;
}

export async function openBackchannel(options: BackchannelOptions): Promise<Backchannel> {
  const camera = options.session.id;
  let slot: Awaited<ReturnType<ConnectionBudget["acquire"]>>;
  try {
    slot = await options.budget.acquire("interactive", 1000);
  } catch (error) {
    if (error instanceof BudgetTimeoutError)
      throw new CameraError(
        "busy",
        camera,
        `all ${options.budget.max} RTSP sessions of the camera are in use`,
      );
    throw error;
  }
  const turn = await options.session.loginTurn().catch((error: unknown) => {
    slot.release();
    throw error;
  });
  const { username, password } = options.session.credentials;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `rtsp://${host}:${options.port}${options.path}`;
  let closedByUs = false;
  const connection = new RtspConnection({
    camera,
    host: options.host,
    port: options.port,
    username,
    password,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    responseTimeoutMs: 10_000,
    // The camera sends nothing we want on a backchannel-only session (RTCP at most).
    onFrame: () => undefined,
    onClose: (error) => {
      slot.release();
      if (!closedByUs) options.onClose?.(error);
    },
  });
  let judged = false;
  try {
    await connection.open();
    const describe = await connection.request("DESCRIBE", url, [
      ["Accept", "application/sdp"],
      ["Require", BACKCHANNEL_REQUIRE],
    ]);
    judged = true;
    judgeRtspLogin(turn, describe.status);
    if (describe.status !== 200)
      throw new CameraError("rejected", camera, `DESCRIBE with the backchannel answered ${describe.status}`, {
        status: describe.status,
      });
    const sdp = parseSdp(describe.body.toString("utf8"));
    const wanted = options.law === "alaw" ? "PCMA" : "PCMU";
    const track =
      sdp.media.find((m) => m.kind === "audio" && m.direction === "sendonly" && m.encoding === wanted) ??
      sdp.media.find((m) => m.kind === "audio" && m.direction === "sendonly");
    if (!track || (track.encoding !== "PCMA" && track.encoding !== "PCMU"))
      throw new CameraError("unsupported", camera, "the camera offers no G.711 backchannel track");
    const base = describe.headers.get("content-base") ?? describe.headers.get("content-location") ?? url;
    const setup = await connection.request("SETUP", resolveControl(base, track.control), [
      ["Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"],
    ]);
    const sessionHeader = setup.headers.get("session");
    if (setup.status !== 200 || !sessionHeader)
      throw new CameraError("rejected", camera, `SETUP of the backchannel answered ${setup.status}`, {
        status: setup.status,
      });
    const { id: sessionId, timeoutSeconds } = parseSession(sessionHeader);
    // The aggregate control URL, as for video (rtsp-source.ts): a strict server answers 404 elsewhere.
    const aggregate = resolveControl(base, sdp.control);
    const play = await connection.request("PLAY", aggregate, [["Session", sessionId]]);
    if (play.status !== 200)
      throw new CameraError("rejected", camera, `PLAY of the backchannel answered ${play.status}`, {
        status: play.status,
      });
    const keepalive = setInterval(
      () =>
        void connection.request("GET_PARAMETER", aggregate, [["Session", sessionId]]).catch(() => undefined),
      Math.max(5, timeoutSeconds / 2) * 1000,
    );
    keepalive.unref();
    const ssrc = randomInt(1, 2 ** 31);
    let sequence = randomInt(0, 65_536);
    let timestamp = randomInt(0, 2 ** 31);
    let pending: Buffer = Buffer.alloc(0);
    let packetsSent = 0;
    return {
      get packetsSent() {
        return packetsSent;
      },
      send(g711) {
        // A camera that does not take the audio as fast as it is said: drop, so the talk stays live.
        if (connection.pendingBytes > MAX_BACKLOG_BYTES) return;
        pending = pending.length ? Buffer.concat([pending, g711]) : g711;
        while (pending.length >= SAMPLES_PER_PACKET) {
          const payload = pending.subarray(0, SAMPLES_PER_PACKET);
          pending = pending.subarray(SAMPLES_PER_PACKET);
          const packet = Buffer.alloc(12 + payload.length);
          writeRtpHeader(packet, 0, {
            marker: packetsSent === 0,
            payloadType: track.payloadType,
            sequence,
            timestamp,
            ssrc,
          });
          payload.copy(packet, 12);
          connection.write(Buffer.concat([interleavedHeader(0, packet.length), packet]));
          sequence = (sequence + 1) & 0xffff;
          timestamp = (timestamp + SAMPLES_PER_PACKET) >>> 0;
          packetsSent++;
        }
      },
      close() {
        if (closedByUs) return;
        closedByUs = true;
        clearInterval(keepalive);
        void connection
          .request("TEARDOWN", aggregate, [["Session", sessionId]])
          .catch(() => undefined)
          .finally(() => connection.close());
      },
    };
  } catch (error) {
    if (!judged) turn.failed(error);
    closedByUs = true;
    connection.close();
    throw error;
  }
}
