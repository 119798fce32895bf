/**
 * The body of one event-stream part: `Code=VideoMotion;action=Start;index=0;data={...}` (reference §2.7).
 *
 * `data=` is everything after the first `data=` (JSON with tabs or 3-space indent, `null`, or text that is not
 * JSON); values before it may contain `=` (rroller/dahua#477). Unknown codes and actions are kept as they are.
 */
import type { JsonValue } from "./kv.ts";

export type EventBody =
  | { kind: "heartbeat" }
  | {
      kind: "event";
      code: string;
      /** As the camera wrote it: Start, Stop, Pulse, State, or doorbell verbs such as Invite/Hangup. */
      action: string;
      /** 0-based channel index. */
      index: number;
      /** Parsed JSON, `null` for `data=null`, the raw text when it is not JSON, undefined when absent. */
      data: JsonValue | undefined;
      /** Any other `key=value` fields before `data=`. */
      fields: Record<string, string>;
    };

export class EventBodyError extends Error {
  readonly code = "bad-event-body";
  constructor(message: string) {
    super(message);
    this.name = "EventBodyError";
  }
}

export function parseEventBody(text: string): EventBody {
  const body = text.trim();
  if (body === "Heartbeat") return { kind: "heartbeat" };
  const dataAt = body.search(/(^|;)data=/);
  const head = dataAt < 0 ? body : body.slice(0, dataAt);
  const rawData = dataAt < 0 ? undefined : body.slice(body.indexOf("data=", dataAt) + 5);
  const fields: Record<string, string> = {};
  for (const item of head.split(";")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq < 0) throw new EventBodyError(`event field without '=': ${JSON.stringify(item.slice(0, 40))}`);
    fields[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  const { Code: code, action, index: indexText, ...rest } = fields;
  if (!code || !action)
    throw new EventBodyError(`event without Code or action: ${JSON.stringify(body.slice(0, 80))}`);
  const index = indexText === undefined || indexText === "" ? 0 : Number(indexText);
  if (!Number.isInteger(index) || index < 0)
    throw new EventBodyError(`bad event index ${JSON.stringify(indexText)}`);
  return { kind: "event", code, action, index, data: parseData(rawData), fields: rest };
}

function parseData(raw: string | undefined): JsonValue | undefined {
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  if (trimmed === "null") return null;
  try {
    return JSON.parse(trimmed) as JsonValue;
  } catch {
    // Not an error: older firmware writes data that is not JSON; it is kept as the camera's text.
    return trimmed;
  }
}
