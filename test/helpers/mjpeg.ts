/** Reading MJPEG in tests: split a received body into JPEGs, and read the emulator's COM stamp of each. */
import { readComment } from "../../src/emulator/frame-renderer.ts";
import { MultipartParser } from "../../src/protocol/multipart.ts";

export function jpegsOf(bytes: Buffer): Buffer[] {
  const parser = new MultipartParser({ boundary: "myboundary" });
  return parser
    .push(bytes)
    .map((part) => part.body)
    .filter((body) => body[0] === 0xff && body[1] === 0xd8);
}

/** `{ seq, t }` from the emulator's COM segment; undefined for pictures the emulator did not make. */
export function stampOf(jpeg: Buffer): { seq: number; t: number } | undefined {
  const match = /camgate seq=(\d+) t=(\d+)/.exec(readComment(jpeg) ?? "");
  return match ? { seq: Number(match[1]), t: Number(match[2]) } : undefined;
}
