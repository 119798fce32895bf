/**
 * Glass-to-glass in a real browser: for each picture the page shows, read the emulator's counter strip
 * (src/emulator/counter-encoder.ts: 64 cells, a sync byte, the 24-bit counter, the capture clock's low 32
 * bits; the row below the complement) back from the `<video>` through a canvas, and subtract the capture
 * clock from the time the frame is displayed (`requestVideoFrameCallback`'s expectedDisplayTime). The page
 * code is a function (camgate's pages forbid eval) and self-contained: nothing from the gateway runs there.
 */
import type { Locator } from "playwright-core";

export interface GlassSample {
  counter: number;
  /** Display time minus capture time, ms. */
  latencyMs: number;
}

export interface GlassResult {
  samples: GlassSample[];
  /** Frames whose strip did not read cleanly (it never should: the pixels are lossless). */
  unreadable: number;
}

interface CanvasContext {
  drawImage(
    source: unknown,
    sx: number,
    sy: number,
    sw: number,
    sh: number,
    dx: number,
    dy: number,
    dw: number,
    dh: number,
  ): void;
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
}
interface PageVideo {
  videoWidth: number;
  requestVideoFrameCallback(callback: (now: number, meta: { expectedDisplayTime: number }) => void): number;
}
interface PageGlobals {
  document: {
    createElement(tag: "canvas"): {
      width: number;
      height: number;
      getContext(kind: "2d", options: object): CanvasContext | null;
    };
  };
  performance: { timeOrigin: number };
}

/** Reads `count` displayed frames of the video element at `video`. */
export function measureGlass(video: Locator, count: number, timeoutMs = 30_000): Promise<GlassResult> {
  return video.evaluate(
    (element, args) =>
      new Promise<GlassResult>((resolve, reject) => {
        const page = globalThis as unknown as PageGlobals;
        const v = element as unknown as PageVideo;
        const canvas = page.document.createElement("canvas");
        const context = canvas.getContext("2d", { willReadFrequently: true });
        if (!context) {
          reject(new Error("no 2d canvas"));
          return;
        }
        const samples: GlassSample[] = [];
        let unreadable = 0;
        const timer = setTimeout(
          () => reject(new Error(`only ${samples.length} frames read in time`)),
          args.timeoutMs,
        );
        const read = (_now: number, meta: { expectedDisplayTime: number }) => {
          // The size as of this frame (0 before the first; a new stream may bring another).
          const width = v.videoWidth;
          const cell = width >= 512 ? 8 : 4;
          if (canvas.width !== width || canvas.height !== cell * 2) {
            canvas.width = width;
            canvas.height = cell * 2;
          }
          context.drawImage(v, 0, 0, width, cell * 2, 0, 0, width, cell * 2);
          const data = context.getImageData(0, 0, width, cell * 2).data;
          const luma = (x: number, y: number) => data[(y * width + x) * 4] ?? 0;
          const bits: number[] = [];
          for (let i = 0; i < 64; i++) {
            const top = luma(i * cell + cell / 2, cell / 2) > 128 ? 1 : 0;
            const bottom = luma(i * cell + cell / 2, cell + cell / 2) > 128 ? 1 : 0;
            if (top === bottom) break;
            bits.push(top);
          }
          const value = (from: number, n: number) =>
            bits.slice(from, from + n).reduce((sum, bit) => sum * 2 + bit, 0);
          if (bits.length === 64 && value(0, 8) === 0b10110010) {
            const shown = Math.floor(page.performance.timeOrigin + meta.expectedDisplayTime) % 2 ** 32;
            samples.push({ counter: value(8, 24), latencyMs: (shown - value(32, 32) + 2 ** 32) % 2 ** 32 });
          } else unreadable++;
          if (samples.length >= args.count) {
            clearTimeout(timer);
            resolve({ samples, unreadable });
          } else v.requestVideoFrameCallback(read);
        };
        v.requestVideoFrameCallback(read);
      }),
    { count, timeoutMs },
  );
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The counter strip of the frame a (paused) video shows now: its counter and capture clock, or undefined. */
export function stripOf(video: Locator): Promise<{ counter: number; clock: number } | undefined> {
  return video.evaluate((element) => {
    const page = globalThis as unknown as PageGlobals;
    const v = element as unknown as PageVideo;
    const width = v.videoWidth;
    const cell = width >= 512 ? 8 : 4;
    const canvas = page.document.createElement("canvas");
    canvas.width = width;
    canvas.height = cell * 2;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    if (!context || width === 0) return undefined;
    context.drawImage(v, 0, 0, width, cell * 2, 0, 0, width, cell * 2);
    const data = context.getImageData(0, 0, width, cell * 2).data;
    const luma = (x: number, y: number) => data[(y * width + x) * 4] ?? 0;
    const bits: number[] = [];
    for (let i = 0; i < 64; i++) {
      const top = luma(i * cell + cell / 2, cell / 2) > 128 ? 1 : 0;
      const bottom = luma(i * cell + cell / 2, cell + cell / 2) > 128 ? 1 : 0;
      if (top === bottom) break;
      bits.push(top);
    }
    const value = (from: number, n: number) =>
      bits.slice(from, from + n).reduce((sum, bit) => sum * 2 + bit, 0);
    return bits.length === 64 && value(0, 8) === 0b10110010
      ? { counter: value(8, 24), clock: value(32, 32) }
      : undefined;
  });
}
