/** The embedded MQTT broker (aedes, MQTT 3.1.1) on loopback, for the demo and small setups. */
import { createServer, type Server, type Socket } from "node:net";

export interface EmbeddedBroker {
  url: string;
  close(): Promise<void>;
}

/** aedes is loaded here, when the embedded broker is asked for (it need not weigh on every camgate). */
export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker> {
  const { Aedes } = await import("aedes");
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return {
    url: `mqtt://${host.includes(":") ? `[${host}]` : host}:${actualPort}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
