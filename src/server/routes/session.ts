/** Sign-in for the web UI: a session cookie from a user name and password (or token); sign-out. */
import type { FastifyInstance } from "fastify";
import { cookieValue, SESSION_COOKIE, sessionCookie } from "../auth/sessions.ts";
import type { GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { loadSession } from "../front-door.ts";

const whoami = {
  type: "object",
  properties: {
    authenticated: { type: "boolean" },
    signInRequired: { type: "boolean" },
    user: { type: "string" },
    role: { type: "string" },
    via: { type: "string" },
    cameras: { type: "array", items: { type: "string" } },
    may: {
      type: "object",
      description: "what the UI shows this user beyond the cameras (the API judges every request anyway)",
      properties: { settings: { type: "boolean" }, cameraHistory: { type: "boolean" } },
    },
  },
} as const;

export function registerSessionRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/api/v1/session",
    {
      config: { public: true },
      schema: {
        summary: "Who you are (for the UI: whether to show the sign-in page)",
        tags: ["auth"],
        response: { 200: whoami },
      },
    },
    async (request) => {
      await loadSession(ctx, request.headers.cookie);
      const result = ctx.auth.authenticate(request.raw, "GET", "/api/v1/session");
      if (!result.ok) return { authenticated: false, signInRequired: true };
      const { principal } = result;
      return {
        authenticated: true,
        signInRequired: false,
        user: principal.name,
        role: principal.role,
        via: principal.via,
        cameras: principal.cameras === "*" ? ctx.cameras.list().map((c) => c.id) : [...principal.cameras],
        // The same rules as the routes': settings are admins'; backups redacted of secrets are viewers'.
        may: {
          settings: principal.role === "admin",
          cameraHistory: principal.role === "admin" || ctx.backupsRedacted,
        },
      };
    },
  );

  app.post<{ Body: { username: string; password: string } }>(
    "/api/v1/session",
    {
      config: { public: true },
      schema: {
        summary: "Sign in: sets an HttpOnly, SameSite=Strict session cookie",
        tags: ["auth"],
        body: {
          type: "object",
          properties: {
            username: { type: "string", minLength: 1, maxLength: 64 },
            password: { type: "string", minLength: 1, maxLength: 1024 },
          },
          required: ["username", "password"],
          additionalProperties: false,
        },
        response: { 200: whoami },
      },
    },
    async (request, reply) => {
      const door = ctx.auth.preamble(ctx.auth.clientAddress(request.raw));
      if (door.kind === "blocked")
        throw new ApiProblem("too-many-failures", "too many failed sign-ins", {
          retryAfterSeconds: door.retryAfterSeconds,
        });
      const principal = ctx.auth.checkPassword(request.body.username, request.body.password);
      if (!principal) {
        if (door.kind === "judge") door.failed();
        ctx.metrics.frontDoorFailures.inc({ reason: "sign-in" });
        throw new ApiProblem("unauthorized", "wrong user name or password");
      }
      const id = await ctx.sessions.create(principal.name);
      reply.header("Set-Cookie", sessionCookie(id, ctx.secureCookies));
      return {
        authenticated: true,
        signInRequired: false,
        user: principal.name,
        role: principal.role,
        via: "session",
      };
    },
  );

  app.delete(
    "/api/v1/session",
    { config: { public: true }, schema: { summary: "Sign out", tags: ["auth"] } },
    async (request, reply) => {
      const id = cookieValue(request.headers.cookie, SESSION_COOKIE);
      if (id) await ctx.sessions.destroy(id);
      reply.header("Set-Cookie", sessionCookie("", ctx.secureCookies, 0));
      return reply.code(204).send();
    },
  );
}
