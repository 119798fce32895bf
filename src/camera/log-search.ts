/**
 * The camera's log between two wall-clock times (log.cgi startFind, doFind page by page, stopFind), as an
 * async iterator. stopFind is always sent, even when the consumer stops early or a page fails.
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
  try {
    for (;;) {
      const page = await api.cgi(
        api.targetFor("log.cgi", [
          ["action", "doFind"],
          ["token", token],
          ["count", options.pageSize ?? 100],
        ]),
        priority,
      );
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
