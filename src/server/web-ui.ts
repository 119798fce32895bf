/**
 * Serves the web UI (built by vite into web/dist) at `/`. The UI talks only to /api/v1 and the stream URLs;
 * every non-API path falls back to index.html so deep links work. HTML is `text/html; charset=utf-8`.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

const UI_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join("; ");

export function webRoot(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/server (sources) and dist/server (built) both sit two levels below the package root.
  const root = resolve(here, "../../web/dist");
  return existsSync(join(root, "index.html")) ? root : undefined;
}

export function registerWebUi(app: FastifyInstance): void {
  const root = webRoot();
  if (!root) {
    app.get("/", { config: { public: true } }, async (_request, reply) =>
      reply
        .type("text/plain; charset=utf-8")
        .send("camgate: the web UI is not built (npm run build); the API is at /api/v1/openapi.json\n"),
    );
    return;
  }
  // The page and its assets are public (they hold no data); everything they load from /api/v1 is not.
  app.register(async (scope) => {
    scope.addHook("onRoute", (route) => {
      route.config = { ...(route.config as object), public: true, webUi: true };
    });
    scope.addHook("onRequest", async (_request, reply) => {
      // The UI loads only its own scripts and styles and talks only to this origin; it is not framed elsewhere.
      reply.header("Content-Security-Policy", UI_POLICY);
      reply.header("X-Frame-Options", "SAMEORIGIN");
      reply.header("Referrer-Policy", "same-origin");
    });
    await scope.register(fastifyStatic, {
      root,
      prefix: "/",
      index: ["index.html"],
      wildcard: false,
      cacheControl: false,
      setHeaders: (res, path) => {
        res.setHeader(
          "Cache-Control",
          path.endsWith(".html") ? "no-cache" : "public, max-age=31536000, immutable",
        );
        if (path.endsWith(".html")) res.setHeader("Content-Type", "text/html; charset=utf-8");
      },
    });
    for (const path of [
      "/grid",
      "/events",
      "/config",
      "/config/:tab",
      "/health",
      "/settings",
      "/signin",
      "/camera/:id",
      "/playback",
    ]) {
      scope.get(path, async (_request, reply) =>
        reply.type("text/html; charset=utf-8").sendFile("index.html"),
      );
    }
  });
}
