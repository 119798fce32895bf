/** The authentication and authorisation hook every route passes through. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { roleAllows } from "./auth/roles.ts";
import { CSRF_HEADER, cookieValue, SESSION_COOKIE } from "./auth/sessions.ts";
import type { GatewayContext } from "./context.ts";
import { ApiProblem } from "./errors.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The camera's own web UI runs its scripts (inline and eval'd, as these UIs are written) from its own origin
 * only: nothing from elsewhere, no framing by other sites, forms and XHR to itself.
 */
const CAMERA_UI_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'self'; " +
  "form-action 'self'; base-uri 'self'; object-src 'none'";

/** A session cookie another instance issued becomes known here before the (synchronous) authentication. */
export async function loadSession(ctx: GatewayContext, cookies: string | undefined): Promise<void> {
  const id = cookieValue(cookies, SESSION_COOKIE);
  if (id !== undefined) await ctx.sessions.load(id);
}

export function installFrontDoor(app: FastifyInstance, ctx: GatewayContext): void {
  app.decorateRequest("principal", undefined);
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    // The id every log line of this request carries (`reqId`), so an answer can be found in the log.
    // Set on the raw response, so hijacked answers (streams, the passthrough) carry these headers too.
    reply.raw.setHeader("X-Request-Id", request.id);
    // Nothing camgate answers is an active document, except the web UI's page: a camera's (or anyone's)
    // HTML, SVG or script served from this origin is inert (no sniffing, a sandbox without scripts).
    reply.raw.setHeader("X-Content-Type-Options", "nosniff");
    const config = request.routeOptions.config;
    if (config.cameraUi) reply.raw.setHeader("Content-Security-Policy", CAMERA_UI_CSP);
    else if (!config.webUi) reply.raw.setHeader("Content-Security-Policy", "sandbox");
    if (config.public) return;
    await loadSession(ctx, request.headers.cookie);
    const result = ctx.auth.authenticate(request.raw, request.method, request.raw.url ?? "/");
    if (!result.ok) {
      ctx.metrics.frontDoorFailures.inc({ reason: result.status === 429 ? "rate-limited" : result.reason });
      if (result.status === 429) {
        throw new ApiProblem("too-many-failures", result.reason, {
          ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}),
        });
      }
      reply.header(
        "WWW-Authenticate",
        config.basicChallenge ? 'Basic realm="camgate", charset="UTF-8"' : 'Bearer realm="camgate"',
      );
      throw new ApiProblem("unauthorized", result.reason);
    }
    request.principal = result.principal;
    // A cookie rides along with any request the browser makes; a custom header cannot be forged across sites.
    if (
      result.principal.via === "session" &&
      !SAFE_METHODS.has(request.method) &&
      request.headers[CSRF_HEADER] !== "1"
    ) {
      throw new ApiProblem(
        "csrf-header-missing",
        `state-changing requests with a session cookie need the ${CSRF_HEADER}: 1 header`,
      );
    }
    // The scrape token opens /metrics and nothing else.
    if (result.principal.via === "metrics-token") {
      if (config.scrapeToken) return;
      throw new ApiProblem("not-allowed", "the metrics token may only read /metrics");
    }
    const needed = config.role ?? "viewer";
    // Passthrough routes decide the role per CGI action themselves.
    if (!roleAllows(result.principal.role, needed))
      throw new ApiProblem("not-allowed", `needs the ${needed} role`);
  });
}
