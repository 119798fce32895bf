/**
 * A crowd of live viewers in its own process, so their parsing and SRTP decryption do not share an event
 * loop (or a core) with the benchmark's own measurements: `live-viewers.ts mse|webrtc|mjpeg <url> <count>`.
 * Prints `ready <n>` once every viewer has its first media, then on each `measure` line from stdin counts
 * for the given window and prints one JSON line: viewers that received media, units and bytes per viewer.
 */
import { request } from "node:http";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { makeOffer } from "../../test/helpers/webrtc.ts";

const [kind, url, countText] = process.argv.slice(2);
const count = Number(countText);
if (!kind || !url || !Number.isInteger(count))
  throw new Error("usage: live-viewers.ts mse|webrtc|mjpeg <url> <count>");

interface Counter {
  units: number;
  bytes: number;
  close(): void;
}

function mse(): Promise<Counter> {
  return new Promise((resolve, reject) => {
    const counter: Counter = { units: 0, bytes: 0, close: () => socket.terminate() };
    const socket = new WebSocket(url as string, { perMessageDeflate: false });
    socket.on("open", () => socket.send(JSON.stringify({ type: "mse", value: "avc1.640029,mp4a.40.2" })));
    socket.on("message", (data, binary) => {
      if (!binary) return;
      counter.units++;
      counter.bytes += (data as Buffer).length;
      if (counter.units === 2) resolve(counter);
    });
    socket.on("error", reject);
  });
}

async function webrtc(): Promise<Counter> {
  const { pc, sdp } = await makeOffer();
  const counter: Counter = { units: 0, bytes: 0, close: () => void pc.close() };
  const first = new Promise<void>((resolve) => {
    pc.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp) => {
        if (track.kind !== "video") return;
        counter.units++;
        counter.bytes += rtp.payload.length;
        if (counter.units === 1) resolve();
      }),
    );
  });
  const response = await fetch(url as string, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: sdp,
  });
  if (response.status !== 201) throw new Error(`WebRTC answer ${response.status}: ${await response.text()}`);
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  await first;
  return counter;
}

function mjpeg(): Promise<Counter> {
  return new Promise((resolve, reject) => {
    const counter: Counter = { units: 0, bytes: 0, close: () => req.destroy() };
    const req = request(url as string, { agent: false }, (res) => {
      res.on("data", (chunk: Buffer) => {
        // A part per frame: counted by its boundary, the bytes as they come.
        counter.bytes += chunk.length;
        for (let at = chunk.indexOf("--myboundary"); at >= 0; at = chunk.indexOf("--myboundary", at + 1))
          counter.units++;
        if (counter.units === 1) resolve(counter);
      });
    });
    req.on("error", reject);
    req.end();
  });
}

const open = kind === "mse" ? mse : kind === "webrtc" ? webrtc : mjpeg;
const viewers: Counter[] = [];
// In batches, as a crowd arrives; WebRTC in batches of 8, the answers one principal may hold unconnected
// (src/server/webrtc/sessions.ts): each batch connects before the next is offered.
const batch = kind === "webrtc" ? 8 : 10;
for (let i = 0; i < count; i += batch)
  viewers.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - i) }, open))));
process.stdout.write(`ready ${viewers.length}\n`);

const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  const ms = Number(/^measure (\d+)/.exec(line)?.[1]);
  if (!ms) return;
  const start = viewers.map((v) => ({ units: v.units, bytes: v.bytes }));
  setTimeout(() => {
    const deltas = viewers.map((v, i) => ({
      units: v.units - (start[i]?.units ?? 0),
      bytes: v.bytes - (start[i]?.bytes ?? 0),
    }));
    const served = deltas.filter((d) => d.units > 0).length;
    const seconds = ms / 1000;
    process.stdout.write(
      `${JSON.stringify({
        served,
        unitsPerSecond: deltas.reduce((s, d) => s + d.units, 0) / viewers.length / seconds,
        mbitPerViewer: (deltas.reduce((s, d) => s + d.bytes, 0) * 8) / viewers.length / seconds / 1e6,
        leastUnitsPerSecond: Math.min(...deltas.map((d) => d.units)) / seconds,
      })}\n`,
    );
  }, ms);
});
input.on("close", () => {
  for (const viewer of viewers) viewer.close();
  process.exit(0);
});
