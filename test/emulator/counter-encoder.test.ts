/**
 * The emulator's tiny H.264 encoder, decoded by ffmpeg (an independent decoder): every picture decodes, its
 * luma is exactly what was drawn (I_PCM and P_Skip are lossless), and the strip reads back as the frame
 * counter and capture clock.
 */
import { describe, expect } from "vitest";
import { CounterEncoder, readStrip } from "../../src/emulator/counter-encoder.ts";
import { locateFfmpeg, runTool } from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

function annexB(nalus: Buffer[]): Buffer {
  return Buffer.concat(nalus.flatMap((nal) => [Buffer.from([0, 0, 0, 1]), nal]));
}

describe("counter encoder", () => {
  for (const [width, height] of [
    [640, 360],
    [320, 240],
  ] as const) {
    itWithTool(
      "ffmpeg",
      locateFfmpeg,
      `${width}x${height}: ffmpeg decodes every picture to exactly the drawn pixels`,
      async () => {
        const encoder = new CounterEncoder({ width, height, fps: 25, gop: 10 });
        const drawn: Uint8Array[] = [];
        const clocks: number[] = [];
        const stream: Buffer[] = [];
        let keyframes = 0;
        for (let i = 0; i < 25; i++) {
          const at = 1_764_000_000_000 + i * 40 + (i % 3);
          const picture = encoder.encode(1000 + i, at);
          if (picture.keyframe) keyframes++;
          stream.push(annexB(picture.nalus));
          drawn.push(encoder.luma());
          clocks.push(at);
        }
        expect(keyframes).toBe(3);
        const decoded = await runTool(
          "ffmpeg",
          ["-v", "error", "-f", "h264", "-i", "-", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
          30_000,
          Buffer.concat(stream),
        );
        expect(decoded.stderr).toBe("");
        const size = width * height;
        const frameBytes = size * 1.5;
        expect(decoded.stdout.length).toBe(frameBytes * 25);
        for (let i = 0; i < 25; i++) {
          // The Y plane as decoded (yuv420p: no range conversion, which ffmpeg's gray would apply).
          const frame = decoded.stdout.subarray(i * frameBytes, i * frameBytes + size);
          expect(Buffer.compare(frame, Buffer.from(drawn[i] as Uint8Array))).toBe(0);
          const read = readStrip(width, (x, y) => frame[y * width + x] as number);
          expect(read).toEqual({ counter: 1000 + i, capturedAtLow32: (clocks[i] as number) % 2 ** 32 });
        }
      },
    );
  }
});
