/**
 * Whether a browser request comes from camgate's own pages. A WebSocket is not bound by CORS, so a page on
 * another site could open one with the user's session cookie (cross-site WebSocket hijacking); routes that
 * accept a cookie on an upgrade (live video, talk) check the Origin the browser sends. No Origin means no
 * browser made it (curl, an NVR): nothing to judge.
 */
import type { FastifyRequest } from "fastify";
import type { GatewayContext } from "./context.ts";

export function sameOrigin(ctx: GatewayContext, request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const own = [`${request.protocol}://${request.headers.host ?? ""}`, ctx.publicUrl()];
  return own.some((base) => base.replace(/\/$/, "").toLowerCase() === origin.toLowerCase());
}
