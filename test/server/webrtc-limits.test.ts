/**
 * WebRTC sessions per principal (issue 28): offers that never do ICE cannot hold every session; one
 * principal holds at most its share, and someone else still gets a viewer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { makeOffer } from "../helpers/webrtc.ts";

const MALLORY = "mallory-token-webrtc-5151";
const VERA = "vera-token-webrtc-6262";
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
    server: { rtsp: { listen: "127.0.0.1:0" }, webrtc: { maxSessions: 20 } },
    users: [
      { name: "mallory", role: "viewer", token: MALLORY },
      { name: "vera", role: "viewer", token: VERA },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
});

async function offer(sdp: string, token: string) {
  const response = await fetch(`${gateway.url}/api/v1/cameras/dogs/webrtc`, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...bearer(token) },
    body: sdp,
  });
  const body = await response.text();
  return { status: response.status, body };
}

describe("WebRTC sessions per principal", () => {
  it("answers one principal's unconnected offers up to 8; another principal still gets a viewer", async () => {
    const { pc, sdp } = await makeOffer();
    try {
      const answers = [];
      for (let i = 0; i < 12; i++) {
        const answer = await offer(sdp, MALLORY);
        answers.push(answer.status);
      }
      expect(answers.filter((status) => status === 201)).toHaveLength(8);
      expect(answers.slice(8)).toEqual([503, 503, 503, 503]);
      const other = await offer(sdp, VERA);
      expect(other.status).toBe(201);
      expect(gateway.camgate.webrtc?.size).toBe(9);
    } finally {
      gateway.camgate.webrtc?.closeAll();
      await pc.close();
    }
  });
});
