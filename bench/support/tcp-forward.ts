/**
 * A TCP forwarder (`tcp-forward.ts <port>`): every client connection gets its own connection to
 * 127.0.0.1:<port>, bytes piped both ways. It is the naive way to put a camera's RTSP behind another port
 * (an nginx stream proxy, a port forward): each viewer costs the camera a session. SIGUSR1 cuts every
 * connection (a network blip, for reconnect timing). Prints `forward on <port>`.
 */
import { connect, createServer, type Socket } from "node:net";

const target = Number(process.argv[2]);
const sockets = new Set<Socket>();

const server = createServer((client) => {
  const upstream = connect({ host: "127.0.0.1", port: target });
  sockets.add(client);
  sockets.add(upstream);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  const end = () => {
    client.destroy();
    upstream.destroy();
    sockets.delete(client);
    sockets.delete(upstream);
  };
  client.on("error", end);
  upstream.on("error", end);
  client.on("close", end);
  upstream.on("close", end);
});

process.on("SIGUSR1", () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
});
process.on("SIGTERM", () => process.exit(0));

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`forward on ${typeof address === "object" && address ? address.port : 0}\n`);
});
