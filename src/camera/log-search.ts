/**
 * The camera's log between two wall-clock times (log.cgi startFind, doFind page by page, stopFind), as an
 * async iterator. stopFind is always sent, even when the consumer stops early or a page fails.
 *
 * The loop is driven by what the camera answers, so it is bounded three ways: a page count, a deadline,
 * and progress: a camera that answers the same page again (it ignores the paging) is not asked again.
 */
import { type JsonValue, kvToTree, parseKvLines } from "../protocol/kv.ts";
import type { CameraApi } from "./api.ts";
import type { Priority } from "./budget.ts";
import { CameraError } from "./errors.ts";

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
  const maxPages = options.maxPages ?? 100;
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  let previous: string | undefined;
  try {
    for (let pages = 0; ; pages++) {
      if (pages >= maxPages) return options.onCut?.(`stopped after ${maxPages} pages`);
      if (Date.now() > deadline) return options.onCut?.("stopped at the search's deadline");
      const page = await api.cgi(
        api.targetFor("log.cgi", [
          ["action", "doFind"],
          ["token", token],
          ["count", options.pageSize ?? 100],
        ]),
        priority,
      );
      if (page === previous)
        return options.onCut?.("the camera answered the same page twice (it ignores paging)");
      previous = page;
      const tree = kvToTree(parseKvLines(page), { coerce: false });
      const items = Array.isArray(tree.items) ? tree.items : [];
      if (Number(tree.found ?? 0) === 0 || items.length === 0) return;
      for (const item of items) {
        if (item === null || typeof item !== "object" || Array.isArray(item)) continue;
        yield {
          time: String(item.Time ?? ""),
          type: String(item.Type ?? ""),
          user: item.User === undefined ? undefined : String(item.User),
          level: item.Level === undefined ? undefined : Number(item.Level),
          detail: item.Detail,
        };
      }
    }
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
