/**
 * The camera's own web UI on its passthrough port (its own origin: the camera's scripts never share one with
 * camgate's UI): `/RPC2_Login` and `/RPC2` terminated at camgate (`rpc2-terminator.ts`). The routes are open
 * at the HTTP level because RPC2 carries its own login and token in the body (a cross-site page cannot know
 * the token, so a cookie alone does nothing here); a caller the front door already knows (a camgate session
 * cookie, a token, a certificate) has its RPC2 login answered for it.
 */
import websocket from "@fastify/websocket";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { CameraEntry } from "../../camera/registry.ts";
import { parseRpc2 } from "../../protocol/rpc2.ts";
import { canSeeCamera, type Principal } from "../auth/authenticator.ts";
import type { GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { loadSession } from "../front-door.ts";
import { sameOrigin } from "../same-origin.ts";
import { Rpc2Terminator } from "./rpc2-terminator.ts";
import { WebSocketRtspTransport } from "./websocket-rtsp-transport.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** Who opened the camera UI's RTSP WebSocket, when camgate's front door knows them. */
    cameraUiViewer?: Principal;
  }
}

/** A client's RTSP request in one message (the player's are a few hundred bytes). */
const MAX_RTSP_MESSAGE_BYTES = 64 * 1024;

/** What of the camera's answer to a UI file reaches the browser (never its cookies or auth challenges). */
const PASSED_HEADERS = ["content-type", "cache-control", "last-modified", "etag", "content-language"];

/** A redirect to the camera's own address becomes one to the same path on this origin. */
function sameOriginLocation(location: string, session: CameraEntry["session"]): string {
  try {
    const url = new URL(location, "http://camera.invalid");
    const camera = new URL(session.origin);
    const own = url.host === "camera.invalid" || url.host === camera.host;
    return own ? `${url.pathname}${url.search}` : "/";
  } catch {
    return "/";
  }
}

/** An RPC2 body: a web UI's calls are small (a multicall of config reads). */
const MAX_RPC2_BYTES = 256 * 1024;

async function signedInPrincipal(
  ctx: GatewayContext,
  request: FastifyRequest,
): Promise<Principal | undefined> {
  if (request.headers.cookie === undefined && request.headers.authorization === undefined) return undefined;
  await loadSession(ctx, request.headers.cookie);
  const result = ctx.auth.authenticate(request.raw, request.method, request.raw.url ?? "/");
  return result.ok && result.principal.via !== "metrics-token" ? result.principal : undefined;
}

export function registerCameraUi(app: FastifyInstance, ctx: GatewayContext, entry: CameraEntry): void {
  if (entry.protocol !== "dahua") return;
  const terminator = new Rpc2Terminator(ctx, entry);
  app.addHook("onClose", async () => terminator.close());
  app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: MAX_RTSP_MESSAGE_BYTES } });
    // The live view's RTSP over a WebSocket, answered from camgate's one session per stream (never one more
    // camera session per viewer). Open at the HTTP level like RPC2: the RTSP inside carries its own Digest,
    // checked against camgate's users; a caller the front door knows, from a page of this origin (a cookie is
    // sent to every port of the host, so another site's page must not ride on it), is taken as signed in.
    scope.get(
      "/rtspoverwebsocket",
      {
        websocket: true,
        config: { public: true },
        preHandler: async (request) => {
          if (!sameOrigin(ctx, request)) return;
          const principal = await signedInPrincipal(ctx, request);
          if (principal && canSeeCamera(principal, entry.id)) request.cameraUiViewer = principal;
        },
      },
      (socket, request) => {
        const address = ctx.auth.clientAddress(request.raw);
        const transport = new WebSocketRtspTransport(socket, request.raw.socket, address);
        ctx.rtspSessions.acceptTransport(transport, entry, {
          once: true,
          principal: request.cameraUiViewer,
        });
      },
    );
  });
  app.register(async (scope) => {
    // The UI's XHR sends JSON as text/plain or application/json (rroller/dahua: text/plain); both are read as text.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      "*",
      { parseAs: "string", bodyLimit: MAX_RPC2_BYTES },
      (_request, body, done) => done(null, body),
    );
    const invalid = { result: false, error: { code: 268894209, message: "Request invalid!" } };
    scope.post("/RPC2_Login", { config: { public: true } }, async (request, reply) => {
      const message = parseRpc2(String(request.body ?? ""));
      if (!message) return reply.code(400).send(invalid);
      const signedIn = await signedInPrincipal(ctx, request);
      return terminator.login(message, ctx.auth.clientAddress(request.raw), signedIn);
    });
    scope.post("/RPC2", { config: { public: true } }, async (request, reply) => {
      const message = parseRpc2(String(request.body ?? ""));
      if (!message) return reply.code(400).send(invalid);
      return terminator.call(message);
    });
    // The UI's own files (its page, scripts, styles, images), from the camera, behind camgate's front door.
    scope.get(
      "/*",
      { config: { role: "viewer", basicChallenge: true, cameraUi: true } },
      async (request, reply) => {
        const principal = request.principal;
        if (!principal || !canSeeCamera(principal, entry.id))
          throw new ApiProblem("not-found", "no camera here for you");
        const answer = await entry.session.request({ target: request.raw.url ?? "/", method: "GET" });
        reply.code(answer.status);
        for (const name of PASSED_HEADERS) {
          const value = answer.headers[name];
          if (typeof value === "string") reply.header(name, value);
        }
        const location = answer.headers.location;
        if (typeof location === "string")
          reply.header("location", sameOriginLocation(location, entry.session));
        return reply.send(answer.body);
      },
    );
  });
}
