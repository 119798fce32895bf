/** Parses `host:port`, `[::1]:port` or a bare port (loopback) for --listen options. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text.trim()) ?? /^()()(\d+)$/.exec(text.trim());
  if (!match) throw new Error(`--listen must look like 127.0.0.1:8080 or [::1]:8080, got "${text}"`);
  const host = match[1] || match[2] || "127.0.0.1";
  const port = Number(match[3]);
  if (!(port >= 0 && port <= 65535)) throw new Error(`port out of range in "${text}"`);
  return { host, port };
}
