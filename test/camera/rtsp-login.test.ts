/**
 * camgate's RTSP client and the camera's failed-login count (issue 28): at a camera that challenges every
 * request (OPTIONS too) with a fresh nonce and counts every refused signed request, one attempt with a
 * wrong password costs one failed login, not three; with the right one it plays.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionBudget } from "../../src/camera/budget.ts";
import { RtspSource } from "../../src/camera/rtsp-source.ts";
import { CameraSession } from "../../src/camera/session.ts";
import type { StreamDown, StreamState } from "../../src/camera/stream-status.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { waitFor } from "../helpers/http.ts";

const PASSWORD = "camera-secret-771";

describe("RTSP logins at a strict camera", () => {
  let emulator: RunningEmulator | undefined;
  let session: CameraSession | undefined;
  let source: RtspSource | undefined;
  afterEach(async () => {
    source?.stop();
    await session?.close();
    await emulator?.close();
  });

  async function watch(password: string) {
    emulator = await startEmulator({
      profile: "amcrest-ip2m-841b",
      password: PASSWORD,
      rtsp: { strictAuth: true },
    });
    const camera = emulator.cameras[0];
    if (!camera) throw new Error("no camera");
    session = new CameraSession({ id: "cam", url: camera.url, username: "admin", password });
    const states: { state: StreamState; down: StreamDown | undefined }[] = [];
    let pictures = 0;
    source = new RtspSource({
      session,
      budget: new ConnectionBudget(2),
      host: "127.0.0.1",
      port: camera.rtspPort,
      path: "/cam/realmonitor?channel=1&subtype=0",
      backoffMinMs: 50,
      backoffMaxMs: 100,
      onDescription: () => undefined,
      onVideo: () => {
        pictures++;
      },
      onState: (state, down) => states.push({ state, down }),
    });
    source.start();
    return { camera, states, pictures: () => pictures };
  }

  it("a wrong password: one failed login per attempt, and no second attempt within the backoff", async () => {
    const { camera, states } = await watch("not-the-password");
    await waitFor(() => (states.some((s) => s.state === "down") ? true : undefined), 10_000, "a refusal");
    expect(camera.control.counters().authFailures).toBe(1);
    expect(states.find((s) => s.state === "down")?.down?.error.message).toMatch(/credentials/);
    // The source retries quickly, but the session's login backoff (60 s) holds every retry back.
    const connections = camera.control.rtspCounters().connections;
    await waitFor(
      () => (states.filter((s) => s.state === "down").length >= 3 ? true : undefined),
      10_000,
      "retries refused by the backoff",
    );
    expect(camera.control.counters().authFailures).toBe(1);
    expect(camera.control.rtspCounters().connections).toBe(connections);
    expect(camera.control.lockedAddresses()).toEqual([]);
  });

  it("the right password plays, OPTIONS challenged and all", async () => {
    const { camera, pictures } = await watch(PASSWORD);
    await waitFor(() => (pictures() >= 5 ? true : undefined), 10_000, "pictures");
    expect(camera.control.counters().authFailures).toBe(0);
  });
});
