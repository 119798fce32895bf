/**
 * The CGI passthrough: `/cam/<id>/cgi-bin/...` on the main port, and `/cgi-bin/...` on a camera's own
 * `passthroughPort`, go to that camera through its CameraSession, so existing clients (python-amcrest, Home
 * Assistant, Blue Iris, scripts) work unchanged with the gateway's credentials while camgate speaks Digest.
 *
 * Safety: the upstream host comes only from the config; the target is forwarded byte for byte but refused
 * when it carries CR, LF or NUL (raw or percent-encoded) or dot segments; the role needed comes from the CGI
 * catalogue, judged on the query decoded the way the firmware decodes it.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { CameraError } from "../camera/errors.ts";
import type { CameraEntry } from "../camera/registry.ts";
import { CLUSTER_USER } from "../cluster/peer-directory.ts";
import { decodeDeviceQuery } from "../protocol/cgi.ts";
import { splitSigned } from "../protocol/signed-url.ts";
import { judgeCgiRequest, roleAllows } from "./auth/roles.ts";
import { CSRF_HEADER } from "./auth/sessions.ts";
import type { GatewayContext } from "./context.ts";
import { ApiProblem } from "./errors.ts";
import { readAttach, serveAttach } from "./event-passthrough.ts";
import { serveHubStream } from "./media.ts";

/** Endpoints whose answers do not end by themselves (event attach is served from the shared stream). */
const ENDLESS = [
  /^mjpg\/video\.cgi$/,
  /^realmonitor\.cgi$/,
  /^audio\.cgi$/,
  /^loadfile\.cgi$/,
  /^RPC_Loadfile\//,
];

const PASSED_HEADERS = ["content-type", "content-length", "content-disposition", "cache-control"];

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const CONTROL = /[\x00-\x1f\x7f]|%0[0ad]|%7f/i;

/**
 * Forwards one request. `cgiTarget` is what follows the camera prefix, e.g. `/cgi-bin/ptz.cgi?action=...`.
 */
export async function forwardCgi(
  ctx: GatewayContext,
  entry: CameraEntry,
  request: FastifyRequest,
  reply: FastifyReply,
  cgiTarget: string,
): Promise<void> {
  const principal = request.principal;
  if (!principal) throw new ApiProblem("unauthorized");
  // Another instance sent this here as the camera's owner; a stale view on both sides must not bounce a
  // request between them: only the owner serves the cluster.
  if (principal.name === CLUSTER_USER && entry.session.route)
    throw new ApiProblem("not-owner", "this instance does not own the camera now", {
      camera: entry.id,
      retryAfterSeconds: 1,
    });
  // A signed URL's own parameters are ours, not the camera's.
  const target = principal.via === "signed-url" ? splitSigned(cgiTarget).base : cgiTarget;
  const queryAt = target.indexOf("?");
  const path = queryAt < 0 ? target : target.slice(0, queryAt);
  if (CONTROL.test(target) || !path.startsWith("/cgi-bin/") || /(^|\/)\.\.?(\/|$)|%2e/i.test(path))
    throw new ApiProblem(
      "unsafe-target",
      "the CGI target has control characters, dot segments or an odd path",
    );
  const cgi = path.slice("/cgi-bin/".length);
  const judgement = judgeCgiRequest(cgi, decodeDeviceQuery(queryAt < 0 ? "" : target.slice(queryAt + 1)));
  if (!judgement.ok) throw new ApiProblem("ambiguous-query", judgement.reason);
  const { params, role: needed } = judgement;
  if (!roleAllows(principal.role, needed))
    throw new ApiProblem(
      "not-allowed",
      `${cgi} action "${params.get("action") ?? ""}" needs the ${needed} role`,
    );
  // CGI changes are GETs: a page elsewhere could make the browser send one with the session cookie. Anything
  // above a read needs the header a cross-site request cannot carry.
  if (principal.via === "session" && needed !== "viewer" && request.headers[CSRF_HEADER] !== "1")
    throw new ApiProblem(
      "csrf-header-missing",
      `${cgi} action "${params.get("action") ?? ""}" with a session cookie needs the ${CSRF_HEADER}: 1 header`,
    );
  const method = request.method;
  // Existing clients share the relay: MJPEG from the camera's one hub, snapshots single-flight.
  if (method === "GET" && cgi === "mjpg/video.cgi") {
    const channel = Number(params.get("channel") ?? 1);
    const subtype = Number(params.get("subtype") ?? 0);
    if (
      Number.isInteger(channel) &&
      channel >= 1 &&
      Number.isInteger(subtype) &&
      subtype >= 0 &&
      subtype <= 3
    ) {
      return void (await serveHubStream(ctx, entry, reply, channel, subtype));
    }
  }
  // Attached event clients share the camera's one event stream (as MJPEG viewers share a hub).
  if (method === "GET" && cgi === "eventManager.cgi" && params.get("action") === "attach") {
    const attach = readAttach(params);
    reply.hijack();
    return serveAttach(ctx.eventStreams, entry, reply.raw, attach);
  }
  if (method === "GET" && cgi === "snapshot.cgi") {
    const channel = Number(params.get("channel") ?? 1);
    if (Number.isInteger(channel) && channel >= 1) {
      try {
        const snapshot = await ctx.snapshots.get({
          camera: entry.id,
          channel,
          maxAgeMs: ctx.snapshotMaxAgeMs,
        });
        return void reply.type("image/jpeg").header("Cache-Control", "no-store").send(snapshot.jpeg);
      } catch (error) {
        // When the camera answered with an error, fall through and hand the client the camera's own answer.
        if (!(error instanceof CameraError) || error.status === undefined) throw error;
      }
    }
  }
  const headers: Record<string, string> = {};
  for (const name of ["content-type", "content-length"]) {
    const value = request.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const hasBody = method !== "GET" && method !== "HEAD";
  const endless = ENDLESS.some((pattern) => pattern.test(cgi));
  // A stream the camera keeps open holds one of its connections for as long as the client likes: one per
  // principal and camera, and never the last free one, so the interactive calls of others keep their place.
  const holding = endless ? ctx.streamAllowance.take(entry, principal.name) : undefined;
  let upstream: Awaited<ReturnType<typeof entry.session.stream>>;
  try {
    upstream = await entry.session.stream({
      target,
      method,
      headers,
      ...(hasBody ? { body: request.raw } : {}),
      priority: "interactive",
      ...(endless ? { timeouts: { bodyMs: 0 } } : {}),
    });
  } catch (error) {
    holding?.();
    throw error;
  }
  reply.hijack();
  const res = reply.raw;
  const outgoing: Record<string, string | string[]> = {};
  for (const name of PASSED_HEADERS) {
    const value = upstream.headers[name];
    if (value !== undefined) outgoing[name] = value;
  }
  res.writeHead(upstream.status, outgoing);
  res.flushHeaders();
  res.on("close", () => {
    upstream.close();
    holding?.();
  });
  upstream.body.on("error", (error: Error) => {
    ctx.logger.warn({ camera: entry.id, err: error.message }, "upstream stream ended with an error");
    res.destroy();
  });
  upstream.body.pipe(res);
}
