/** The authentication and authorisation hook every route passes through. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { roleAllows } from "../protocol/cgi.ts";
import { CSRF_HEADER } from "./auth/sessions.ts";
import type { GatewayContext } from "./context.ts";
import { problem, sendProblem } from "./problem.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function installFrontDoor(app: FastifyInstance, ctx: GatewayContext): void {
  app.decorateRequest("principal", undefined);
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config;
    if (config.public) return;
    const result = ctx.auth.authenticate(request.raw, request.method, request.raw.url ?? "/");
    if (!result.ok) {
      ctx.metrics.frontDoorFailures.inc({ reason: result.status === 429 ? "rate-limited" : result.reason });
      if (result.status === 429) {
        return sendProblem(reply, problem(429, "too-many-failures", result.reason), result.retryAfterSeconds);
      }
      reply.header(
        "WWW-Authenticate",
        config.basicChallenge ? 'Basic realm="camgate", charset="UTF-8"' : 'Bearer realm="camgate"',
      );
      return sendProblem(reply, problem(401, "unauthorized", result.reason));
    }
    request.principal = result.principal;
    // A cookie rides along with any request the browser makes; a custom header cannot be forged across sites.
    if (
      result.principal.via === "session" &&
      !SAFE_METHODS.has(request.method) &&
      request.headers[CSRF_HEADER] !== "1"
    ) {
      return sendProblem(
        reply,
        problem(
          403,
          "not-allowed",
          `state-changing requests with a session cookie need the ${CSRF_HEADER}: 1 header`,
        ),
      );
    }
    const needed = config.role ?? "viewer";
    // Passthrough routes decide the role per CGI action themselves.
    if (!roleAllows(result.principal.role, needed)) {
      return sendProblem(reply, problem(403, "not-allowed", `needs the ${needed} role`));
    }
  });
}
