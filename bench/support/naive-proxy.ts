/**
 * The baseline the relay is compared with: what the original Flask + requests proxy did. Every viewer costs
 * its own upstream request with a fresh Digest handshake, and the body is piped through. Run as its own
 * process: `naive-proxy.ts <camera url> <password>`; prints its URL.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { Agent } from "undici";
import { formatDigestAuthorization, pickChallenge } from "../../src/protocol/digest.ts";

const [cameraUrl = "", password = ""] = process.argv.slice(2);
const origin = new URL(cameraUrl).origin;
const agent = new Agent({ connections: 1000 });

const server = createServer(async (req, res) => {
  const target = req.url ?? "/";
  try {
    const first = await agent.request({ origin, path: target, method: "GET" });
    await first.body.dump();
    const challenge = pickChallenge(String(first.headers["www-authenticate"] ?? ""));
    if (challenge?.scheme !== "digest")
      throw new Error(`camera answered ${first.statusCode} without a challenge`);
    const authorization = formatDigestAuthorization({
      algorithm: challenge.algorithm,
      username: "admin",
      password,
      realm: challenge.realm,
      nonce: challenge.nonce,
      method: "GET",
      uri: target,
      qop: "auth",
      nc: "00000001",
      cnonce: randomBytes(8).toString("hex"),
      ...(challenge.opaque !== undefined ? { opaque: challenge.opaque } : {}),
    });
    const upstream = await agent.request({
      origin,
      path: target,
      method: "GET",
      headers: { authorization },
      bodyTimeout: 0,
    });
    res.writeHead(upstream.statusCode, {
      "content-type": String(upstream.headers["content-type"] ?? "application/octet-stream"),
    });
    res.on("close", () => upstream.body.destroy());
    upstream.body.on("error", () => res.destroy());
    upstream.body.pipe(res);
  } catch (error) {
    res.writeHead(502).end(String(error));
  }
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (typeof address === "object" && address)
    process.stdout.write(`naive proxy on http://127.0.0.1:${address.port}\n`);
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
