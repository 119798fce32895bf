/**
 * The camera's own recordings (its SD card, an NVR's disk): the search (mediaFileFind.cgi factory.create,
 * findFile, findNextFile page by page, close, destroy) and the download of one file (`RPC_Loadfile/<path>`),
 * both at background priority so live viewers and PTZ go first within the camera's connection budget.
 *
 * The pages are bounded as every find's are (find-pages.ts: a page count, a deadline, progress). close and
 * destroy are always sent; their answers do not matter (some firmware refuses the `factory.` spellings with
 * a 200 Error body, python-amcrest test_media, so the plain ones are used).
 */
import type { Readable } from "node:stream";
import { classifyCgiResponse } from "../protocol/cgi.ts";
import { parseKvLines } from "../protocol/kv.ts";
import { isRecordingPath } from "../protocol/recording-path.ts";
import type { CameraApi } from "./api.ts";
import { CameraError } from "./errors.ts";
import { findPages } from "./find-pages.ts";

export interface SdFile {
  /** Camera wall-clock times, as it prints them (`2026-12-02 07:05:00`; no time zone). */
  startTime: string;
  endTime: string;
  path: string;
  bytes: number | undefined;
  /** `dav`, `mp4`, `jpg`. */
  type: string;
  /** Why it was recorded: `Timing`, `Manual`, `Event`, ... and which event codes. */
  flags: string[];
  events: string[];
  channel: number | undefined;
}

export interface SdSearchOptions {
  channel?: number;
  pageSize?: number;
  /** At most this many findNextFile pages (default 20). */
  maxPages?: number;
  /** Stop asking for pages after this long (default 30 s). */
  deadlineMs?: number;
  onCut?: (reason: string) => void;
}

const CGI = "mediaFileFind.cgi";

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
}

/** The camera's recordings that overlap [from, to] (camera wall-clock strings), in the order it lists them. */
export async function* searchSdCard(
  api: CameraApi,
  from: string,
  to: string,
  options: SdSearchOptions = {},
): AsyncGenerator<SdFile> {
  const created = await api.cgi(api.targetFor(CGI, [["action", "factory.create"]]), "background");
  const object = parseKvLines(created).find(([key]) => key === "result")?.[1];
  if (object === undefined || !/^\d+$/.test(object))
    throw new CameraError("bad-response", api.id, "mediaFileFind factory.create answered without result=");
  try {
    await api.cgi(
      api.targetFor(CGI, [
        ["action", "findFile"],
        ["object", object],
        ["condition.Channel", options.channel ?? 1],
        ["condition.StartTime", from],
        ["condition.EndTime", to],
        ["condition.Types[0]", "dav"],
        ["condition.Types[1]", "mp4"],
      ]),
      "background",
    );
    const pages = findPages(
      () =>
        api.cgi(
          api.targetFor(CGI, [
            ["action", "findNextFile"],
            ["object", object],
            ["count", options.pageSize ?? 100],
          ]),
          "background",
        ),
      { maxPages: options.maxPages ?? 20, deadlineMs: options.deadlineMs ?? 30_000, onCut: options.onCut },
    );
    for await (const items of pages)
      for (const item of items) {
        if (typeof item.FilePath !== "string" || typeof item.StartTime !== "string") continue;
        const bytes = Number(item.Length);
        yield {
          startTime: item.StartTime,
          endTime: String(item.EndTime ?? item.StartTime),
          path: item.FilePath,
          bytes: Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : undefined,
          type: String(item.Type ?? ""),
          flags: strings(item.Flags),
          events: strings(item.Events),
          channel: item.Channel === undefined ? undefined : Number(item.Channel),
        };
      }
  } finally {
    for (const action of ["close", "destroy"]) {
      try {
        await api.cgi(
          api.targetFor(CGI, [
            ["action", action],
            ["object", object],
          ]),
          "background",
        );
      } catch (error) {
        api.session.warn(`mediaFileFind ${action} failed`, {
          err: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
}

export interface SdDownload {
  body: Readable;
  bytes: number | undefined;
  close(): void;
}

/** One recording's bytes as the camera stores them. A 200 `Error` answer in place of the file is an error. */
export async function downloadSdFile(
  api: CameraApi,
  path: string,
  signal?: AbortSignal,
): Promise<SdDownload> {
  if (!isRecordingPath(path))
    throw new CameraError("invalid-argument", api.id, "not a recording path on the camera's SD card");
  const stream = await api.session.stream({
    // `RPC_Loadfile/` then the absolute path: a double slash (python-amcrest, `RPC_Loadfile//mnt/sd/...`).
    target: `/cgi-bin/RPC_Loadfile/${path}`,
    priority: "background",
    ...(signal ? { signal } : {}),
  });
  const first = await firstChunk(stream.body);
  const verdict = classifyCgiResponse(stream.status, first.subarray(0, 256));
  if (!verdict.ok) {
    stream.close();
    // `unsupported` (200 + "Error\r\nBad Request!"): the camera has no such file.
    throw new CameraError(verdict.code, api.id, `RPC_Loadfile: ${verdict.detail}`, { status: stream.status });
  }
  if (first.length > 0) stream.body.unshift(first);
  const length = Number(stream.headers["content-length"]);
  return {
    body: stream.body,
    bytes: Number.isSafeInteger(length) && length >= 0 ? length : undefined,
    close: () => stream.close(),
  };
}

/** The first bytes of a body (empty at its end), without consuming more. */
function firstChunk(body: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (value: Buffer | Error) => {
      body.off("readable", onReadable);
      body.off("end", onEnd);
      body.off("error", done);
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const onReadable = () => {
      const chunk = body.read() as Buffer | null;
      if (chunk !== null) done(chunk);
    };
    const onEnd = () => done(Buffer.alloc(0));
    body.on("readable", onReadable);
    body.once("end", onEnd);
    body.once("error", done);
    onReadable();
  });
}

/** Milliseconds since epoch of a camera wall-clock string read as UTC fields (`2011-7-3 21:02:32`). */
export function wallClockMs(text: string): number | undefined {
  const parts = text
    .trim()
    .split(/[^0-9]+/)
    .map(Number);
  if (parts.length < 6 || parts.some((n) => !Number.isInteger(n))) return undefined;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = parts;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  return Number.isFinite(ms) ? ms : undefined;
}

/** A camera wall-clock string for ms since epoch read as UTC fields. */
export function wallClockText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}
