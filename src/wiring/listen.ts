/** Binding a listener, with a refusal to start that names the config key and the address when it cannot. */
import type { FastifyInstance } from "fastify";
import { StartupError } from "./camgate.ts";

function refusal(error: unknown, what: string, host: string, port: number): StartupError {
  const code = (error as NodeJS.ErrnoException).code;
  return new StartupError(
    code === "EADDRINUSE"
      ? `${what}: ${host}:${port} is already in use`
      : `${what}: cannot listen on ${host}:${port} (${code ?? String(error)})`,
  );
}

/** Runs a bind (RTSP, ONVIF, discovery) and gives its port, or a StartupError naming `what`. */
export async function bindOrRefuse(
  bind: () => Promise<number>,
  what: string,
  host: string,
  port: number,
): Promise<number> {
  try {
    return await bind();
  } catch (error) {
    throw refusal(error, what, host, port);
  }
}

/** Makes a Fastify app listen and gives its port, or a StartupError naming `what`. */
export async function listenOrRefuse(
  app: FastifyInstance,
  host: string,
  port: number,
  what: string,
): Promise<number> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    throw refusal(error, what, host, port);
  }
  const address = app.server.address();
  return typeof address === "object" && address ? address.port : port;
}
