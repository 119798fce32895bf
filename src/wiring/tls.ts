/** `server.tls`: the certificate files read once at start, or a refusal naming the key that cannot be read. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../config/schema.ts";
import type { HttpsOptions } from "../server/gateway-server.ts";
import { StartupError } from "./camgate.ts";

export function httpsOptions(config: Config, baseDir: string): HttpsOptions | undefined {
  const tls = config.server.tls;
  if (!tls) return undefined;
  const read = (file: string, what: string) => {
    try {
      return readFileSync(resolve(baseDir, file));
    } catch (error) {
      throw new StartupError(
        `server.tls.${what}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
  };
  return {
    cert: read(tls.cert, "cert"),
    key: read(tls.key, "key"),
    ...(tls.clientCa ? { ca: read(tls.clientCa, "clientCa") } : {}),
    requestCert: tls.clientCa !== undefined,
    rejectUnauthorized: tls.clientCa !== undefined && tls.requireClientCert,
  };
}
