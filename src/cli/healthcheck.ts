/**
 * `camgate healthcheck [-c FILE]`: whether the camgate this config describes answers `/healthz`, on the
 * listener and scheme the config says (plain HTTP or TLS), for container health checks. The address asked is
 * the listener's, or loopback when it listens on every address. Exits 0 or 1; never sends credentials.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { loadConfigFile } from "../config/load.ts";

export async function runHealthcheck(
  flags: { config: string },
  out: NodeJS.WritableStream,
): Promise<boolean> {
  const config = loadConfigFile(flags.config);
  const { host, port } = config.server.listen;
  const target = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const tls = config.server.tls !== undefined;
  const ok = await new Promise<boolean>((resolve) => {
    const send = tls ? httpsRequest : httpRequest;
    const req = send(
      // camgate's own certificate may be self-signed or name another host: this asks it, not a stranger.
      {
        host: target,
        port,
        path: "/healthz",
        method: "GET",
        timeout: 4000,
        ...(tls ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", () => resolve(false));
    req.end();
  });
  out.write(`${tls ? "https" : "http"}://${target}:${port}/healthz: ${ok ? "ok" : "not answering"}\n`);
  return ok;
}
