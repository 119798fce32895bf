/**
 * GET /api/v1/cameras/:id/live?stream=main|sub as a WebSocket: the main (or sub) stream as fMP4 for Media
 * Source Extensions, in go2rtc's protocol. The client says what it can play, `{"type":"mse","value":"<codecs>"}`;
 * camgate answers `{"type":"mse","value":"video/mp4; codecs=\"avc1.4d401f\""}`, then binary messages: the init
 * segment, the cached GOP from its keyframe, then one fragment per access unit as it arrives. Text messages
 * carry the stream's state (`{"type":"state","value":"connecting"}`) and what cannot be played.
 *
 * Authentication and camera visibility are the HTTP upgrade request's (cookie, token, signed URL): a caller
 * without rights gets the HTTP 401/404, never a WebSocket. A viewer whose socket backs up (a slow link: MSE
 * over TCP cannot drop data) skips to the next keyframe once it holds more than LIVE_BACKLOG_BYTES, so its
 * delay stays bounded and the other viewers never wait. Fragments are written as WebSocket frames built once
 * per fragment for every viewer (one write per viewer per picture, as the RTSP server does).
 */
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import type { StreamDown, StreamState } from "../../camera/stream-status.ts";
import type { Fmp4Feeds, Fmp4Fragment, Fmp4Init, Fmp4Viewer } from "../../relay/fmp4-feed.ts";
import type { StreamHub } from "../../relay/stream-hub.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { holdSocket } from "../held-streams.ts";
import { sameOrigin } from "../same-origin.ts";

/** 2 MiB (go2rtc's player stages as much): ~8 s of a 2 Mbit/s stream. */
export const LIVE_BACKLOG_BYTES = 2 * 1024 * 1024;
/** A client that has not said what it plays within this is closed. */
const HELLO_TIMEOUT_MS = 10_000;
/** The client speaks a few short JSON messages; anything larger is refused by ws (close 1009). */
const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;

export const liveSocketOptions = { maxPayload: MAX_CLIENT_MESSAGE_BYTES };

interface LiveRequest {
  Params: { id: string };
  Querystring: { stream?: "main" | "sub" };
}

declare module "fastify" {
  interface FastifyRequest {
    liveHub?: StreamHub;
  }
}

/** The codec family of an RFC 6381 string as browsers test it: `avc1`, `hvc1` (or `hev1`), `mp4a`. */
function family(codec: string): string {
  const prefix = codec.split(".", 1)[0] ?? "";
  return prefix === "hev1" ? "hvc1" : prefix;
}

/** Each fragment as one unmasked binary WebSocket frame (RFC 6455 §5.2), made once for all its viewers. */
const frames = new WeakMap<Fmp4Fragment, Buffer>();

function framed(fragment: Fmp4Fragment): Buffer {
  let frame = frames.get(fragment);
  if (!frame) {
    const length = fragment.data.length;
    const header =
      length < 126
        ? Buffer.from([0x82, length])
        : length < 65536
          ? Buffer.from([0x82, 126, length >> 8, length & 0xff])
          : Buffer.concat([Buffer.from([0x82, 127]), u64(length)]);
    frame = Buffer.concat([header, fragment.data]);
    frames.set(fragment, frame);
  }
  return frame;
}

function u64(value: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value));
  return out;
}

class LiveViewer implements Fmp4Viewer {
  private accepted: Set<string> | undefined;
  private sentGeneration: number | undefined;
  private withAudio = false;
  private skipping = true;

  constructor(
    private readonly socket: WebSocket,
    /** The connection under the WebSocket (the upgrade request's): fragments go to it as prebuilt frames. */
    private readonly wire: Socket,
    private readonly stats: Fmp4Feeds,
  ) {}

  /** What the client can play; the feed then sends the init (now, or once the stream has one). */
  hello(codecs: string): void {
    this.accepted = new Set(
      codecs
        .split(",")
        .map((codec) => family(codec.trim()))
        .filter((name) => name !== ""),
    );
  }

  onInit(init: Fmp4Init): void {
    const accepted = this.accepted;
    if (!accepted) return;
    if (!accepted.has(family(init.codec))) {
      this.text({
        type: "error",
        value: `this browser cannot play ${init.codec} through MSE (it offered ${[...accepted].join(", ") || "nothing"}); try the sub-stream`,
        code: "codec-unsupported",
      });
      this.socket.close(1003, "codec not supported");
      return;
    }
    this.withAudio = init.mime !== init.videoOnlyMime && accepted.has("mp4a");
    this.text({ type: "mse", value: this.withAudio ? init.mime : init.videoOnlyMime });
    if (init.unplayableAudio)
      this.text({
        type: "info",
        code: "audio-unsupported",
        value: `the camera's ${init.unplayableAudio.toUpperCase()} audio cannot be played through MSE; WebRTC plays it`,
      });
    this.send(this.withAudio ? init.segment : init.videoOnlySegment);
    this.sentGeneration = init.generation;
    this.skipping = true;
  }

  onFragment(fragment: Fmp4Fragment): void {
    if (this.sentGeneration !== fragment.generation) return;
    if (fragment.audio && !this.withAudio) return;
    if (this.wire.writableLength > LIVE_BACKLOG_BYTES) {
      if (!this.skipping) this.skipping = true;
      this.stats.skippedFragments++;
      return;
    }
    if (this.skipping) {
      if (!fragment.keyframe) {
        if (!fragment.audio) this.stats.skippedFragments++;
        return;
      }
      this.skipping = false;
    }
    // One write of the frame made once for every viewer (ws would build a header and write twice per
    // viewer). ws writes its own frames synchronously too, so frames never interleave.
    if (this.socket.readyState === this.socket.OPEN && this.wire.writable) this.wire.write(framed(fragment));
  }

  onState(state: StreamState, down: StreamDown | undefined): void {
    this.text({ type: "state", value: state, ...(down ? { code: down.code } : {}) });
  }

  private text(message: Record<string, string>): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private send(data: Uint8Array): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(data, { binary: true });
  }
}

export function registerLiveRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<LiveRequest>(
    "/api/v1/cameras/:id/live",
    {
      websocket: true,
      schema: {
        summary: "The camera's H.264/H.265 stream as fMP4 for MSE, over a WebSocket (go2rtc's protocol)",
        tags: ["cameras"],
        params: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
        querystring: {
          type: "object",
          properties: { stream: { type: "string", enum: ["main", "sub"], default: "main" } },
        },
      },
      // Before the upgrade: an unknown or invisible camera is an HTTP 404, not a socket closed later.
      preHandler: async (request: FastifyRequest<LiveRequest>) => {
        const entry = cameraFor(ctx, request, request.params.id);
        if (request.principal?.via === "session" && !sameOrigin(ctx, request))
          throw new ApiProblem(
            "bad-origin",
            "live video with a session cookie must come from camgate's own pages",
          );
        request.liveHub = ctx.streams.hub(entry, request.query.stream ?? "main");
      },
    },
    (socket, request) => {
      const hub = request.liveHub as StreamHub;
      holdSocket(ctx.auth.grants, request.principal, socket, hub.camera, "viewer");
      const viewer = new LiveViewer(socket, request.raw.socket, ctx.streams.fmp4);
      ctx.streams.fmp4.sockets++;
      let remove: (() => void) | undefined;
      const hello = setTimeout(() => socket.close(1008, "no hello"), HELLO_TIMEOUT_MS);
      socket.on("message", (data, isBinary) => {
        if (isBinary) return;
        let message: unknown;
        try {
          message = JSON.parse(data.toString());
        } catch {
          socket.close(1007, "messages are JSON");
          return;
        }
        const { type, value } = (message ?? {}) as { type?: unknown; value?: unknown };
        if (type !== "mse" || typeof value !== "string" || remove) return;
        clearTimeout(hello);
        viewer.hello(value);
        // The feed as of now: the one there was at the upgrade may have ended with its last viewer since.
        remove = ctx.streams.fmp4.feed(hub).add(viewer);
      });
      socket.on("close", () => {
        clearTimeout(hello);
        ctx.streams.fmp4.sockets--;
        remove?.();
      });
      socket.on("error", () => socket.terminate());
    },
  );
}
