/**
 * Secure by default (DESIGN.md principle 8): without users the gateway listens on loopback only, and Basic
 * credentials never cross a network in clear text, unless `server.allowInsecure: true` is written out.
 */
import { formatListen } from "../config/listen.ts";
import type { Config } from "../config/schema.ts";

export class StartupError extends Error {
  readonly code = "refused-to-start";
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function checkListenSafety(config: Config): void {
  const { host } = config.server.listen;
  const listen = formatListen(config.server.listen);
  if (isLoopback(host) || config.server.allowInsecure) return;
  if (config.users.length === 0) {
    throw new StartupError(
      `refusing to listen on ${listen} without users: anyone on the network could use your cameras. ` +
        "Add users (see docs/configuration.md), listen on 127.0.0.1, or set server.allowInsecure: true if you really mean it.",
    );
  }
  if (!config.server.tls && config.users.some((user) => user.password !== undefined)) {
    throw new StartupError(
      `refusing Basic authentication on ${listen} without TLS: passwords would cross the network in clear text. ` +
        "Configure server.tls, or set server.allowInsecure: true (e.g. behind a TLS-terminating proxy on the same host).",
    );
  }
}
