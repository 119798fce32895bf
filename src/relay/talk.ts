/**
 * Talking through a camera: one talker per camera at a time (a lease), whose 16-bit PCM at 8 kHz is encoded
 * to G.711 and streamed to the camera's speaker with Dahua's `audio.cgi?action=postAudio` (dahua-cgi.md
 * §2.11): one POST through the camera's session, so inside its connection budget and signed with its Digest
 * state (the session primes the challenge, since the firmware drops unauthenticated POSTs). The body has a
 * large fixed Content-Length, as the firmware refuses chunked bodies, and the talk ends by closing the
 * connection. The RTSP backchannel only when the owner asked for it (`cameras[].talk: backchannel`, for
 * cameras without CGI audio, ONVIF cameras of other makes): an open one silences Dahua doorbells
 * (rtsp-h264.md quirk 7), so it is opened for the talk and closed with it.
 *
 * Bounded: a talk ends after `idleMs` without audio and after `maxMs` in all; audio the camera does not take
 * fast enough is dropped beyond `backlogBytes` (a talk must stay live, not fall behind).
 */
import { PassThrough } from "node:stream";
import { CameraError } from "../camera/errors.ts";
import type { CameraEntry } from "../camera/registry.ts";
import { openBackchannel } from "../camera/rtsp-backchannel.ts";
import { encodeG711, type G711Law } from "../media/g711.ts";

export const TALK_LIMITS = {
  idleMs: 10_000,
  maxMs: 5 * 60_000,
  /** 2 s of G.711. */
  backlogBytes: 16_000,
  /** What firmware accepts as "until the connection closes" (python-amcrest, scrypted). */
  contentLength: 9_999_999,
  /** 20 ms at 8 kHz, sent first (see TalkSession). */
  leadingSilenceSamples: 160,
} as const;

export type TalkErrorCode = "talk-busy";

export class TalkBusyError extends Error {
  readonly code: TalkErrorCode = "talk-busy";
  constructor(
    readonly camera: string,
    readonly holder: string,
  ) {
    super(`${holder} is talking through ${camera}; one talker at a time`);
    this.name = "TalkBusyError";
  }
}

export type TalkEnd = "stopped" | "idle" | "too-long" | "camera-closed" | "camera-removed" | "shutdown";

export interface TalkStats {
  bytesSent: number;
  bytesDropped: number;
}

export class TalkSession {
  private readonly body = new PassThrough({ highWaterMark: TALK_LIMITS.backlogBytes });
  private readonly abort = new AbortController();
  private idleTimer: NodeJS.Timeout;
  private readonly maxTimer: NodeJS.Timeout;
  private ended: TalkEnd | undefined;
  private readonly endListeners = new Set<(reason: TalkEnd) => void>();
  readonly stats: TalkStats = { bytesSent: 0, bytesDropped: 0 };
  readonly startedAt = Date.now();

  constructor(
    readonly camera: string,
    readonly user: string,
    private readonly law: G711Law,
  ) {
    // undici sends a streamed request's headers with its first chunk: 20 ms of silence opens the talk at
    // once, so the camera's answer can say it accepted before anyone has said anything.
    const silence = encodeG711(Buffer.alloc(TALK_LIMITS.leadingSilenceSamples * 2), law);
    this.body.write(silence);
    this.stats.bytesSent += silence.length;
    this.idleTimer = setTimeout(() => this.end("idle"), TALK_LIMITS.idleMs);
    this.maxTimer = setTimeout(() => this.end("too-long"), TALK_LIMITS.maxMs);
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get stream(): PassThrough {
    return this.body;
  }

  /** 16-bit little-endian PCM, mono, 8 kHz. */
  write(pcm: Uint8Array): void {
    if (this.ended) return;
    this.idleTimer.refresh();
    const g711 = encodeG711(pcm, this.law);
    if (this.body.writableLength + g711.length > TALK_LIMITS.backlogBytes) {
      this.stats.bytesDropped += g711.length;
      return;
    }
    this.body.write(g711);
    this.stats.bytesSent += g711.length;
  }

  onEnd(listener: (reason: TalkEnd) => void): void {
    if (this.ended) listener(this.ended);
    else this.endListeners.add(listener);
  }

  get endedBecause(): TalkEnd | undefined {
    return this.ended;
  }

  /** Ends the talk: the connection to the camera closes, which is how the firmware learns it is over. */
  end(reason: TalkEnd): void {
    if (this.ended) return;
    this.ended = reason;
    clearTimeout(this.idleTimer);
    clearTimeout(this.maxTimer);
    // Give what was said a moment to leave before the connection goes (the last words of a talk).
    const flushed = this.body.writableLength === 0;
    const close = () => this.abort.abort();
    if (flushed) setImmediate(close);
    else {
      const timer = setTimeout(close, 500);
      this.body.once("drain", () => {
        clearTimeout(timer);
        setImmediate(close);
      });
    }
    for (const listener of this.endListeners) listener(reason);
    this.endListeners.clear();
  }
}

export class Talks {
  private readonly sessions = new Map<string, TalkSession>();

  /** Who holds a camera's talk lease, if anyone. */
  holder(camera: string): TalkSession | undefined {
    return this.sessions.get(camera);
  }

  /**
   * Takes the camera's lease and opens the POST; resolves once the camera has accepted the talk (its 200),
   * rejects with a TalkBusyError when someone else talks, or with the camera's error.
   */
  async open(entry: CameraEntry, user: string, law: G711Law = "alaw"): Promise<TalkSession> {
    const current = this.sessions.get(entry.id);
    if (current) throw new TalkBusyError(entry.id, current.user);
    const talk = new TalkSession(entry.id, user, law);
    this.sessions.set(entry.id, talk);
    talk.onEnd(() => {
      if (this.sessions.get(entry.id) === talk) this.sessions.delete(entry.id);
    });
    try {
      if (entry.talk === "backchannel") await this.overBackchannel(entry, talk, law);
      else await this.overCgi(entry, talk, law);
      return talk;
    } catch (error) {
      talk.end("camera-closed");
      throw error;
    }
  }

  private async overBackchannel(entry: CameraEntry, talk: TalkSession, law: G711Law): Promise<void> {
    // Dahua wants its ONVIF flavour of the stream URL for a backchannel (go2rtc's Dahua notes).
    const location = entry.onvif
      ? await entry.onvif.streamLocation("main")
      : {
          port: entry.rtsp.port,
          path: `${entry.rtsp.main}${entry.rtsp.main.includes("?") ? "&" : "?"}unicast=true&proto=Onvif`,
        };
    const channel = await openBackchannel({
      session: entry.session,
      budget: entry.rtspBudget,
      host: entry.rtsp.host,
      port: location.port,
      path: location.path,
      law,
      onClose: () => talk.end("camera-closed"),
    });
    talk.stream.on("data", (chunk: Buffer) => channel.send(chunk));
    talk.signal.addEventListener("abort", () => channel.close(), { once: true });
    if (talk.endedBecause) channel.close();
  }

  private async overCgi(entry: CameraEntry, talk: TalkSession, law: G711Law): Promise<void> {
    if (entry.protocol !== "dahua")
      throw new CameraError(
        "unsupported",
        entry.id,
        "talk over audio.cgi needs a Dahua camera; set cameras[].talk: backchannel for an ONVIF camera",
      );
    const response = await entry.session.stream({
      target: entry.api.targetFor("audio.cgi", [
        ["action", "postAudio"],
        ["httptype", "singlepart"],
        ["channel", 1],
      ]),
      method: "POST",
      body: talk.stream,
      headers: {
        "content-type": law === "alaw" ? "Audio/G.711A" : "Audio/G.711Mu",
        "content-length": String(TALK_LIMITS.contentLength),
      },
      signal: talk.signal,
      // The camera says nothing while it plays: silence on the answer is not a stall.
      timeouts: { bodyMs: TALK_LIMITS.maxMs + 60_000 },
    });
    response.body.on("error", () => undefined);
    if (response.status !== 200) {
      response.close();
      throw new CameraError(
        response.status === 403 ? "forbidden" : "rejected",
        entry.id,
        `audio.cgi postAudio answered ${response.status}: the camera takes no talk (no speaker?)`,
        { status: response.status },
      );
    }
    response.body.once("close", () => talk.end("camera-closed"));
    talk.signal.addEventListener("abort", () => response.close(), { once: true });
    if (talk.endedBecause) response.close();
  }

  /** Ends a removed camera's talk. */
  drop(camera: string): void {
    this.sessions.get(camera)?.end("camera-removed");
  }

  closeAll(): void {
    for (const talk of [...this.sessions.values()]) talk.end("shutdown");
  }
}
