/**
 * The connections to one camera (`CameraConnections`): cameras close every connection after their answer,
 * so the pool per origin must reconnect, keep its connection limit while it does, and stay bounded in
 * origins.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CameraConnections, DEFAULT_TIMEOUTS } from "../../src/camera/http.ts";

interface ClosingServer {
  origin: string;
  server: Server;
  /** Connections accepted so far, and the most open at once. */
  accepted: number;
  mostOpen: number;
  /** Answers are held until this resolves (to have requests in flight at once). */
  gate: Promise<void>;
  open(): void;
}

const servers: ClosingServer[] = [];

async function closingServer(): Promise<ClosingServer> {
  let openGate = () => {};
  const state: ClosingServer = {
    origin: "",
    server: createServer(),
    accepted: 0,
    mostOpen: 0,
    gate: new Promise<void>((resolve) => {
      openGate = resolve;
    }),
    open: () => openGate(),
  };
  let open = 0;
  state.server.on("connection", (socket) => {
    state.accepted++;
    state.mostOpen = Math.max(state.mostOpen, ++open);
    socket.on("close", () => open--);
  });
  // As the firmware answers: every answer closes its connection.
  state.server.on("request", (_req, res) => {
    void state.gate.then(() => res.writeHead(200, { Connection: "close" }).end("OK\r\n"));
  });
  await new Promise<void>((resolve) => state.server.listen(0, "127.0.0.1", resolve));
  state.origin = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}`;
  servers.push(state);
  return state;
}

const get = async (connections: CameraConnections, origin: string) => {
  const response = await connections.request({ origin, path: "/cgi-bin/x.cgi", method: "GET" });
  return { status: response.statusCode, body: await response.body.text() };
};

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.open();
    server.server.closeAllConnections();
    await new Promise((resolve) => server.server.close(resolve));
  }
});

describe("connections to a camera that closes every connection", () => {
  it("reconnects for every call and never holds more connections than its limit", async () => {
    const camera = await closingServer();
    const connections = new CameraConnections(2, DEFAULT_TIMEOUTS);
    try {
      const calls = Array.from({ length: 8 }, () => get(connections, camera.origin));
      camera.open();
      const answers = await Promise.all(calls);
      expect(answers.every((a) => a.status === 200 && a.body === "OK\r\n")).toBe(true);
      expect(camera.accepted).toBe(8);
      expect(camera.mostOpen).toBeLessThanOrEqual(2);
      // Sequential calls after the pool's connections all closed: it reconnects.
      expect((await get(connections, camera.origin)).status).toBe(200);
      expect(camera.accepted).toBe(9);
    } finally {
      await connections.destroy();
    }
  });

  it("keeps at most 16 origins and reaches an origin again after it was let go", async () => {
    const cameras = await Promise.all(Array.from({ length: 18 }, () => closingServer()));
    for (const camera of cameras) camera.open();
    const connections = new CameraConnections(1, DEFAULT_TIMEOUTS);
    try {
      for (const camera of cameras) expect((await get(connections, camera.origin)).status).toBe(200);
      const first = cameras[0] as ClosingServer;
      expect((await get(connections, first.origin)).status).toBe(200);
      expect(first.accepted).toBe(2);
    } finally {
      await connections.destroy();
    }
  });

  it("destroy ends a call in flight with an error, and nothing after it is sent", async () => {
    const camera = await closingServer();
    const connections = new CameraConnections(2, DEFAULT_TIMEOUTS);
    const inFlight = get(connections, camera.origin);
    await expect.poll(() => camera.accepted).toBe(1);
    await connections.destroy();
    await expect(inFlight).rejects.toThrow();
    await expect(get(connections, camera.origin)).rejects.toThrow();
    expect(camera.accepted).toBe(1);
  });
});
