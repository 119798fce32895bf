/**
 * The camera's Telnet service, for the security audit's tests: it listens while `Telnet.Enable` is true
 * (older Dahua firmware has that switch; the audit counts an open port 23 and the key) and closes when the
 * key is turned off. It prints a login prompt and accepts no login: what matters is that the port answers.
 */
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";

export class TelnetFace {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly host: string,
    /** The port it listens on when on (0: any free port, kept once chosen). */
    private port: number,
  ) {}

  get listeningPort(): number {
    return this.port;
  }

  /** Listens when `on`, stops listening (dropping every connection) when not. */
  async sync(on: boolean): Promise<void> {
    if (on && !this.server) {
      const server = createServer((socket) => {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => undefined);
        socket.on("data", () => socket.write("\r\nLogin incorrect\r\n\r\nlogin: "));
        socket.write("\r\n(none) login: ");
      });
      this.server = server;
      server.listen(this.port, this.host);
      await once(server, "listening");
      const address = server.address();
      if (address && typeof address === "object") this.port = address.port;
    } else if (!on && this.server) {
      const server = this.server;
      this.server = undefined;
      for (const socket of this.sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
