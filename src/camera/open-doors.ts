/**
 * The security audit's unauthenticated probes: each asks one door of the camera for something that should
 * need credentials, without any (so no login is attempted and none can fail), once per audit. The CGI and
 * ONVIF doors go through the camera's session (its connection budget; `anonymous`: a 401 is an answer, not
 * a refusal of camgate's credentials); RTSP gets one DESCRIBE on a connection of its own; the well-known
 * ports only a TCP connect, with nothing sent. Never an exploit packet, never a guessed password.
 */
import { connect } from "node:net";
import { parseAuthHeader } from "../protocol/auth-header.ts";
import type { CameraSession } from "./session.ts";

export type DoorAnswer = "refused" | "open" | "unreachable" | "skipped";

const PROBE_TIMEOUT_MS = 3000;

/** `magicBox.cgi?action=getDeviceType` without credentials: a 401 (and the schemes it offers) is right. */
export async function probeCgi(session: CameraSession): Promise<{ answer: DoorAnswer; schemes: string[] }> {
  try {
    const response = await session.request({
      target: "/cgi-bin/magicBox.cgi?action=getDeviceType",
      anonymous: true,
      priority: "background",
      timeouts: { headersMs: PROBE_TIMEOUT_MS },
    });
    const header = response.headers["www-authenticate"] ?? [];
    let schemes: string[] = [];
    try {
      schemes = [...new Set(parseAuthHeader(header).map((c) => c.scheme.toLowerCase()))];
    } catch {
      // A header that does not parse offers nothing camgate can name.
    }
    if (response.status === 401) return { answer: "refused", schemes };
    const open = response.status === 200 && /^type=/m.test(response.body.toString("latin1"));
    return { answer: open ? "open" : "refused", schemes };
  } catch {
    return { answer: "unreachable", schemes: [] };
  }
}

const GET_DEVICE_INFORMATION = `<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`;

/**
 * ONVIF `GetDeviceInformation` without WS-Security (not GetSystemDateAndTime, which the standard leaves
 * open): an answer with the device's information means ONVIF checks no login.
 */
export async function probeOnvif(session: CameraSession, devicePath: string): Promise<DoorAnswer> {
  try {
    const response = await session.request({
      target: devicePath,
      method: "POST",
      anonymous: true,
      priority: "background",
      headers: {
        "Content-Type":
          'application/soap+xml; charset=utf-8; action="http://www.onvif.org/ver10/device/wsdl/GetDeviceInformation"',
      },
      body: Buffer.from(GET_DEVICE_INFORMATION),
      timeouts: { headersMs: PROBE_TIMEOUT_MS },
    });
    if (response.status === 404) return "unreachable";
    const text = response.body.toString("utf8");
    return response.status === 200 && /GetDeviceInformationResponse/.test(text) ? "open" : "refused";
  } catch {
    return "unreachable";
  }
}

/**
 * One RTSP DESCRIBE without credentials on its own connection: a 401 is right, a 200 with a description means
 * anyone may watch. No SETUP, so none of the camera's few RTSP sessions is taken.
 */
export function probeRtsp(host: string, port: number, path: string): Promise<DoorAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let answer = "";
    const finish = (result: DoorAnswer) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(answer === "" ? "unreachable" : "refused"), PROBE_TIMEOUT_MS);
    socket.on("error", () => finish("unreachable"));
    socket.on("connect", () =>
      socket.write(
        `DESCRIBE rtsp://${host}:${port}${path} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\nUser-Agent: camgate-audit\r\n\r\n`,
      ),
    );
    socket.on("data", (chunk: Buffer) => {
      // The status line is all that is read; a camera that sends more than 4 KB before it is refused.
      answer += chunk.toString("latin1");
      const status = /^RTSP\/1\.0 (\d{3})/.exec(answer)?.[1];
      if (status !== undefined) finish(status === "200" ? "open" : "refused");
      else if (answer.length > 4096 || answer.includes("\r\n")) finish("refused");
    });
    socket.on("end", () => finish(answer === "" ? "unreachable" : "refused"));
  });
}

/** Whether a TCP port accepts a connection; nothing is sent, the connection is closed at once. */
export function probePort(host: string, port: number): Promise<"open" | "closed"> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (result: "open" | "closed") => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish("closed"), PROBE_TIMEOUT_MS);
    socket.on("connect", () => finish("open"));
    socket.on("error", () => finish("closed"));
  });
}
