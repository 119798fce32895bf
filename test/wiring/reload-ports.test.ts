/**
 * A camera's own port opened by a reload goes through the parts' per-camera hooks (issue 29): a camera
 * added with a free passthrough port answers on it at once; one whose port is taken makes the reload say
 * so, naming the key, while the rest of the new config is in place.
 */
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CameraConfig } from "../../src/config/schema.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort } from "../helpers/http.ts";

let gateway: TestGateway;
let squatter: Server;
let taken: number;

beforeAll(async () => {
  gateway = await startTestGateway({
    cameras: [
      { id: "yard", profile: "amcrest-ip2m-841b" },
      { id: "gate", profile: "amcrest-ip2m-841b" },
    ],
  });
  taken = await freePort();
  squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(taken, "127.0.0.1", resolve));
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => squatter?.close(resolve));
});

const camera = (id: string) => gateway.config.cameras.find((c) => c.id === id) as CameraConfig;

describe("a reload that gives cameras their own ports", () => {
  it("opens a free one at once and names the key of one that is taken", async () => {
    const free = await freePort();
    const next = {
      ...gateway.config,
      cameras: [
        { ...camera("yard"), passthroughPort: free },
        { ...camera("gate"), passthroughPort: taken },
      ],
    };
    await expect(gateway.camgate.reload(next)).rejects.toThrow(
      `cameras.gate.passthroughPort: 127.0.0.1:${taken} is already in use`,
    );
    expect(gateway.camgate.passthroughUrls.yard).toBe(`http://127.0.0.1:${free}`);
    const answer = await fetch(`http://127.0.0.1:${free}/cgi-bin/magicBox.cgi?action=getDeviceType`);
    expect(answer.status).toBe(200);
    expect(gateway.camgate.passthroughUrls.gate).toBeUndefined();
  });
});
