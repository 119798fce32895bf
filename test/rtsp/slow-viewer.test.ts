/**
 * A viewer that stops reading (a phone on a bad link, a stuck NVR) next to one that reads: camgate holds a
 * bounded backlog for it, skips it to the next keyframe, and the other never misses a packet. The camera's
 * main stream is padded to 4 Mbit/s so the kernel's socket buffers fill in a second, as a real one would.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { RawRtspClient, videoPackets } from "../helpers/rtsp.ts";

const BACKLOG = 256 * 1024;

let gateway: TestGateway;
let port: number;

beforeAll(async () => {
  gateway = await startTestGateway({
    cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b", emulator: { rtsp: { mainBitrate: 4_000_000 } } }],
    server: { rtsp: { listen: "127.0.0.1:0", viewerBacklogBytes: BACKLOG } },
  });
  port = Number(new URL(gateway.camgate.rtspUrl ?? "").port);
});

afterAll(async () => {
  await gateway?.close();
});

it("a viewer that stops reading is held to its backlog and resumes at a keyframe; the other misses nothing", async () => {
  const url = `rtsp://127.0.0.1:${port}/dogs`;
  const reader = new RawRtspClient(port);
  const stalled = new RawRtspClient(port);
  stalled.keep = true;
  // The reader's packets, checked as they come: each one's sequence follows the last.
  let last: number | undefined;
  let gaps = 0;
  reader.onFrame = (frame) => {
    if (frame.channel !== 0) return;
    const sequence = frame.payload.readUInt16BE(2);
    if (last !== undefined && sequence !== ((last + 1) & 0xffff)) gaps++;
    last = sequence;
  };
  try {
    await reader.play(url);
    await stalled.play(url);
    stalled.socket.pause();
    const server = gateway.camgate.rtspServer;
    if (!server) throw new Error("no RTSP server");
    const stalledView = () => server.viewers().find((v) => v.skipped > 0);
    await waitFor(() => stalledView(), 30_000, "the stalled viewer to skip pictures");
    const before = reader.frameCounts.get(0) ?? 0;
    await reader.waitForFrames(0, before + 200);
    // Bounded: the backlog limit plus at most the one picture that crossed it.
    const worst = Math.max(...server.viewers().map((v) => v.backlogBytes));
    expect(worst).toBeLessThan(BACKLOG + 256 * 1024);
    expect(gaps).toBe(0);
    expect(server.viewers().filter((v) => v.skipped > 0)).toHaveLength(1);

    // It reads again: what it missed is a gap in its sequence numbers, and what follows starts a keyframe.
    stalled.socket.resume();
    const gapIn = (packets: ReturnType<typeof videoPackets>) =>
      packets.findIndex((p, i) => i > 0 && p.sequence !== (((packets[i - 1]?.sequence ?? 0) + 1) & 0xffff));
    // Wait for the gap and the whole picture after it (a packet of the next picture has come).
    const packets = await waitFor(
      () => {
        const seen = videoPackets(stalled);
        const at = gapIn(seen);
        return at > 0 && seen.slice(at).some((p) => p.timestamp !== seen[at]?.timestamp) ? seen : undefined;
      },
      30_000,
      "the gap where it skipped, and a picture after it",
    );
    const gapAt = gapIn(packets);
    const resumed = packets.slice(gapAt).filter((p) => p.timestamp === packets[gapAt]?.timestamp);
    expect(resumed.flatMap((p) => p.nalTypes)).toContain(5);
    expect(gaps).toBe(0);
  } finally {
    reader.close();
    stalled.close();
  }
});
