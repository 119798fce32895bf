/**
 * Listen addresses, parsed once for the config and the command line: `host:port`, `[v6]:port`, or a bare
 * port (loopback). The port is 0 (any free one) to 65535.
 */

export interface ListenAddress {
  host: string;
  port: number;
}

export const LISTEN_FORMAT = "host:port, [::1]:port or a port, e.g. 127.0.0.1:8080";

/** The address, or undefined when `text` is not one. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const trimmed = text.trim();
  const match =
    /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(trimmed) ?? /^()()(\d{1,5})$/.exec(trimmed);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] || match[2] || "127.0.0.1", port };
}

export function formatListen(address: ListenAddress): string {
  return `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`;
}
