/**
 * A stored file as an HTTP answer with byte ranges (RFC 9110 §14), so a `<video>` element can seek in a
 * recording and a download can resume: `Accept-Ranges: bytes`, one `Range: bytes=a-b` (or `a-`, `-n`) answered
 * 206 with `Content-Range`, an unsatisfiable one 416; several ranges at once are answered with the whole file.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiProblem } from "./errors.ts";

/** The one range a `Range` header asks for, clamped to the file; undefined for the whole file; "bad" for 416. */
export function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "bad" | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Not one simple range (several, or another unit): serve the whole file, as the RFC allows.
  if (!match) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return "bad";
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return "bad";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return "bad";
  return { start, end };
}

/**
 * Any body of known size with byte ranges: `read(start, end)` gives bytes [start, end] (inclusive).
 * `disposition` is `inline` (a `<video>` plays it) or `attachment` (a download).
 */
export function sendWithRanges(
  request: FastifyRequest,
  reply: FastifyReply,
  body: {
    size: number;
    read: (start: number, end: number) => Readable;
    contentType: string;
    downloadName: string;
    disposition?: "inline" | "attachment";
  },
): FastifyReply {
  const range = byteRange(request.headers.range, body.size);
  reply.header("accept-ranges", "bytes");
  reply.header("content-type", body.contentType);
  reply.header("content-disposition", `${body.disposition ?? "inline"}; filename="${body.downloadName}"`);
  if (range === "bad") {
    reply.header("content-range", `bytes */${body.size}`);
    return reply.code(416).send();
  }
  if (!range) {
    reply.header("content-length", body.size);
    return reply.send(body.read(0, body.size - 1));
  }
  reply.header("content-range", `bytes ${range.start}-${range.end}/${body.size}`);
  reply.header("content-length", range.end - range.start + 1);
  return reply.code(206).send(body.read(range.start, range.end));
}

export async function sendFileWithRanges(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  contentType: string,
  downloadName: string,
): Promise<FastifyReply> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new ApiProblem("not-found", "the recording's file is gone");
  return sendWithRanges(request, reply, {
    size: info.size,
    read: (start, end) => createReadStream(path, { start, end }),
    contentType,
    downloadName,
  });
}
