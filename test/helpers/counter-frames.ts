/**
 * Every picture of an MP4 from the emulator's counter stream, decoded by ffmpeg (an independent decoder):
 * the counter and the capture clock burned into each one (`emulator/counter-encoder.ts`).
 */
import { readStrip, stripCell } from "../../src/emulator/counter-encoder.ts";
import { runTool } from "./rtsp.ts";

export interface CounterFrames {
  /** Each picture's counter, in decode order (-1 where the strip did not read). */
  counters: number[];
  /** The low 32 bits of each picture's capture time (ms since epoch). */
  captured: number[];
}

export async function decodeCounterFrames(file: string, width: number): Promise<CounterFrames> {
  const rows = stripCell(width) * 2;
  const decoded = await runTool("ffmpeg", [
    "-v",
    "error",
    "-i",
    file,
    "-vf",
    `crop=${width}:${rows}:0:0`,
    "-f",
    "rawvideo",
    "-pix_fmt",
    "gray",
    "-",
  ]);
  if (decoded.code !== 0) throw new Error(`ffmpeg could not decode ${file}: ${decoded.stderr}`);
  const frameBytes = width * rows;
  const counters: number[] = [];
  const captured: number[] = [];
  for (let at = 0; at + frameBytes <= decoded.stdout.length; at += frameBytes) {
    const luma = decoded.stdout.subarray(at, at + frameBytes);
    const strip = readStrip(width, (x, y) => luma[Math.floor(y) * width + Math.floor(x)] ?? 0);
    counters.push(strip?.counter ?? -1);
    captured.push(strip?.capturedAtLow32 ?? 0);
  }
  return { counters, captured };
}

/** Milliseconds from a capture clock's low 32 bits to `at` (ms since epoch). */
export function msSinceCapture(at: number, capturedLow32: number): number {
  return ((at % 2 ** 32) - capturedLow32 + 2 ** 32) % 2 ** 32;
}
