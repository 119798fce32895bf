/**
 * The camera's log between two wall-clock times (log.cgi startFind, doFind page by page, stopFind), as an
 * async iterator. stopFind is always sent, even when the consumer stops early or a page fails.
 *
 * The pages are bounded as every find's are (find-pages.ts: a page count, a deadline, progress).
 */
import { type JsonValue, parseKvLines } from "../protocol/kv.ts";
import type { CameraApi } from "./api.ts";
import type { Priority } from "./budget.ts";
import { CameraError } from "./errors.ts";
import { findPages } from "./find-pages.ts";

export interface LogItem {
  time: string;
  type: string;
  user: string | undefined;
  level: number | undefined;
  detail: JsonValue | undefined;
}

export interface LogSearchOptions {
  pageSize?: number;
  priority?: Priority;
  /** At most this many doFind pages (default 100). */
  maxPages?: number;
  /** Stop asking for pages after this long (default 60 s). */
  deadlineMs?: number;
  /** Told when the search stopped before the camera said it was done, and why. */
  onCut?: (reason: string) => void;
}

export async function* searchLogs(
  api: CameraApi,
  from: string,
  to: string,
  options: LogSearchOptions = {},
): AsyncGenerator<LogItem> {
  const priority = options.priority ?? "background";
  const start = await api.cgi(
    api.targetFor("log.cgi", [
      ["action", "startFind"],
      ["condition.StartTime", from],
      ["condition.EndTime", to],
    ]),
    priority,
  );
  const token = parseKvLines(start).find(([key]) => key === "token")?.[1];
  if (token === undefined)
    throw new CameraError("bad-response", api.id, "log startFind answered without token=");
  const pages = findPages(
    () =>
      api.cgi(
        api.targetFor("log.cgi", [
          ["action", "doFind"],
          ["token", token],
          ["count", options.pageSize ?? 100],
        ]),
        priority,
      ),
    { maxPages: options.maxPages ?? 100, deadlineMs: options.deadlineMs ?? 60_000, onCut: options.onCut },
  );
  try {
    for await (const items of pages)
      for (const item of items)
        yield {
          time: String(item.Time ?? ""),
          type: String(item.Type ?? ""),
          user: item.User === undefined ? undefined : String(item.User),
          level: item.Level === undefined ? undefined : Number(item.Level),
          detail: item.Detail,
        };
  } finally {
    try {
      await api.cgi(
        api.targetFor("log.cgi", [
          ["action", "stopFind"],
          ["token", token],
        ]),
        priority,
      );
    } catch (error) {
      // The search is over either way; the camera frees an abandoned token by itself, but say so.
      api.session.warn("log stopFind failed", {
        err: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
