/**
 * One RTSP control connection to a camera, over TCP: requests answered in order (matched by CSeq), the
 * camera's Digest (Dahua's is RFC 2069: no qop, and the `uri` is the full request URL, go2rtc#244) or Basic
 * when that is what it asks for, computed for every request from the connection's one challenge, and the
 * interleaved RTP frames that share the socket. Server requests (some cameras send OPTIONS) are answered.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import {
  formatBasicAuthorization,
  formatDigestAuthorization,
  formatNonceCount,
  pickChallenge,
  type SupportedChallenge,
} from "../protocol/digest.ts";
import {
  formatRequest,
  formatResponse,
  type InterleavedFrame,
  parseCSeq,
  RtspError,
  RtspReader,
  type RtspResponse,
} from "../protocol/rtsp.ts";
import { errorText } from "../util/error-text.ts";
import { CameraError } from "./errors.ts";
import type { LoginTurn } from "./session-types.ts";

export interface RtspConnectionOptions {
  camera: string;
  host: string;
  port: number;
  username: string;
  password: string;
  connectTimeoutMs: number;
  /** How long a request may wait for its answer. */
  responseTimeoutMs: number;
  onFrame: (frame: InterleavedFrame) => void;
  onClose: (error: CameraError) => void;
}

interface Pending {
  cseq: number;
  resolve: (response: RtspResponse) => void;
  reject: (error: CameraError) => void;
  timer: NodeJS.Timeout;
}

export const USER_AGENT = "camgate";

export class RtspConnection {
  private socket: Socket | undefined;
  private readonly reader = new RtspReader();
  private cseq = 0;
  private readonly pending: Pending[] = [];
  private challenge: SupportedChallenge | undefined;
  private nonceCount = 0;
  private closed = false;
  /** Bytes that started neither a message nor a frame, skipped. */
  get skippedBytes(): number {
    return this.reader.skipped;
  }

  constructor(private readonly options: RtspConnectionOptions) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.options.host, port: this.options.port });
      this.socket = socket;
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new CameraError("timeout", this.options.camera, "RTSP connect timed out"));
      }, this.options.connectTimeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const cameraError = new CameraError(
          "unreachable",
          this.options.camera,
          `RTSP ${error.code ?? error.message}`,
          { cause: error },
        );
        reject(cameraError);
        this.shut(cameraError);
      });
      socket.on("data", (chunk: Buffer) => {
        // Whatever the camera's bytes make go wrong ends this connection (the stream retries), never more.
        try {
          this.receive(chunk);
        } catch (error) {
          this.shut(
            new CameraError(
              "bad-response",
              this.options.camera,
              `RTSP from the camera: ${errorText(error)}`,
              {
                cause: error,
              },
            ),
          );
        }
      });
      socket.once("close", () =>
        this.shut(
          new CameraError("unreachable", this.options.camera, "the camera closed the RTSP connection"),
        ),
      );
    });
  }

  /**
   * Sends a request and resolves with its answer; a 401 to a request sent without credentials (or to one
   * whose nonce the camera called stale) is answered once with the camera's challenge. A 401 to a request
   * that carried credentials is the camera refusing them: that one failed login is returned as it is, never
   * followed by another (a camera that challenges each request with a fresh nonce would otherwise count
   * two or three failures per attempt, and five lock it).
   */
  async request(method: string, uri: string, headers: [string, string][] = []): Promise<RtspResponse> {
    const signed = this.challenge !== undefined;
    const first = await this.send(method, uri, headers);
    if (first.status !== 401) return first;
    const header = first.headers.all("www-authenticate");
    const challenge = header.length > 0 ? pickChallenge(header) : undefined;
    if (signed && !(challenge?.scheme === "digest" && challenge.stale)) return first;
    if (!challenge)
      throw new CameraError(
        "bad-response",
        this.options.camera,
        "RTSP 401 without a challenge camgate can answer",
        { status: 401 },
      );
    this.challenge = challenge;
    this.nonceCount = 0;
    return this.send(method, uri, headers);
  }

  /** Writes an interleaved frame (RTCP receiver reports, a keepalive's data). */
  write(bytes: Buffer): void {
    if (this.socket && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** Bytes written and not yet taken by the socket (a slow camera's backlog). */
  get pendingBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  close(): void {
    this.shut(new CameraError("unreachable", this.options.camera, "closed"));
  }

  private authorization(method: string, uri: string): string | undefined {
    const challenge = this.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === "basic")
      return formatBasicAuthorization(this.options.username, this.options.password);
    // Dahua's RTSP challenge has no qop: the RFC 2069 response, for the full URL as the uri.
    return formatDigestAuthorization({
      algorithm: challenge.algorithm,
      username: this.options.username,
      password: this.options.password,
      realm: challenge.realm,
      nonce: challenge.nonce,
      method,
      uri,
      ...(challenge.opaque !== undefined ? { opaque: challenge.opaque } : {}),
      userhash: challenge.userhash,
      // A camera that does offer qop gets it, with the count going up per request on this connection.
      ...(challenge.qop.includes("auth")
        ? {
            qop: "auth" as const,
            nc: formatNonceCount(++this.nonceCount),
            cnonce: randomBytes(8).toString("hex"),
          }
        : {}),
    });
  }

  private send(method: string, uri: string, headers: [string, string][]): Promise<RtspResponse> {
    const socket = this.socket;
    if (!socket || this.closed)
      return Promise.reject(new CameraError("unreachable", this.options.camera, "RTSP connection closed"));
    const cseq = ++this.cseq;
    const auth = this.authorization(method, uri);
    const bytes = formatRequest(method, uri, [
      ["CSeq", String(cseq)],
      ["User-Agent", USER_AGENT],
      ...(auth ? ([["Authorization", auth]] as [string, string][]) : []),
      ...headers,
    ]);
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        cseq,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.pending.splice(this.pending.indexOf(entry), 1);
          reject(new CameraError("timeout", this.options.camera, `no answer to RTSP ${method}`));
        }, this.options.responseTimeoutMs),
      };
      this.pending.push(entry);
      socket.write(bytes);
    });
  }

  private receive(chunk: Buffer) {
    let items: ReturnType<RtspReader["push"]>;
    try {
      items = this.reader.push(chunk);
    } catch (error) {
      if (!(error instanceof RtspError)) throw error;
      return this.shut(
        new CameraError("bad-response", this.options.camera, `broken RTSP from the camera: ${error.message}`),
      );
    }
    for (const item of items) {
      if (item.kind === "data") this.options.onFrame(item);
      else if (item.kind === "response") this.answer(item);
      else if (this.socket && !this.socket.destroyed) {
        // The camera asks something of us (OPTIONS as a keepalive, some firmware): say OK.
        // Its CSeq is echoed only as the number it must be.
        const cseq = parseCSeq(item.headers.get("cseq"));
        this.socket.write(formatResponse(200, "OK", [["CSeq", String(cseq ?? 0)]]));
      }
    }
  }

  private answer(response: RtspResponse): void {
    const cseq = Number(response.headers.get("cseq"));
    const index = this.pending.findIndex((p) => p.cseq === cseq);
    // No CSeq, or one we did not send (a camera that drops it): the oldest request in flight.
    const entry = this.pending.splice(Math.max(index, 0), 1)[0];
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.resolve(response);
  }

  private shut(error: CameraError): void {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.pending.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.socket?.destroy();
    this.options.onClose(error);
  }
}

/**
 * The camera's verdict on an RTSP login (the answer to OPTIONS or DESCRIBE), reported to the session under
 * the same no-lockout rules as HTTP: a 401 is a refusal (the credential backoff starts, and the error
 * thrown says so); anything else proves the credentials.
 */
export function judgeRtspLogin(turn: LoginTurn, status: number): void {
  if (status === 401) throw turn.refused("the camera refused camgate's credentials for RTSP");
  turn.succeeded();
}
