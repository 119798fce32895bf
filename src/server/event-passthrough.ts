/**
 * `eventManager.cgi?action=attach` through the passthrough, served from the camera's one shared event stream
 * (`relay/event-stream-hub.ts`) instead of a connection of its own per client: each client gets the camera's
 * framing (`multipart/x-mixed-replace; boundary=myboundary`, text/plain parts with the firmware's bodies),
 * only the codes it asked for, and heartbeats at the interval it asked for. So any number of attached
 * clients (Home Assistant, Blue Iris, scripts) cost the camera one connection, not one of its ~10 each.
 * Codes camgate itself does not subscribe to (`events.codes`) are not seen.
 */
import type { ServerResponse } from "node:http";
import type { CameraEntry } from "../camera/registry.ts";
import { formatPartHeader } from "../protocol/multipart.ts";
import type { EventStreams } from "../relay/event-stream-hub.ts";
import { ApiProblem } from "./errors.ts";

const BOUNDARY = "myboundary";
const CRLF2 = Buffer.from("\r\n\r\n");
/** A client further behind than this is dropped (it reconnects, as clients of a camera do). */
const MAX_BACKLOG_BYTES = 1024 * 1024;

export interface AttachRequest {
  /** `All`, or the codes asked for. */
  codes: "All" | ReadonlySet<string>;
  /** Seconds between heartbeats (none when the client asked for none). */
  heartbeatSeconds: number | undefined;
}

/** The attach parameters as the firmware reads them (reference §2.7); a 400 for what it would refuse. */
export function readAttach(params: ReadonlyMap<string, string>): AttachRequest {
  const match = /^\[(.*)\]$/.exec((params.get("codes") ?? "").trim());
  const list = (match?.[1] ?? "")
    .split(",")
    .map((code) => code.trim())
    .filter(Boolean);
  if (list.length === 0) throw new ApiProblem("bad-request", "attach needs codes=[All] or codes=[Code,...]");
  const heartbeat = params.get("heartbeat");
  const seconds = heartbeat === undefined ? undefined : Number(heartbeat);
  if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60))
    throw new ApiProblem("bad-request", "heartbeat is a whole number of seconds from 1 to 60");
  return { codes: list.includes("All") ? "All" : new Set(list), heartbeatSeconds: seconds };
}

function part(body: string): Buffer[] {
  const bytes = Buffer.from(body, "utf8");
  return [formatPartHeader(BOUNDARY, "text/plain", bytes.length), bytes, CRLF2];
}

/** Serves `res` (nothing written yet) from the camera's shared stream until the client goes away. */
export function serveAttach(
  streams: EventStreams,
  entry: CameraEntry,
  res: ServerResponse,
  attach: AttachRequest,
): void {
  res.writeHead(200, {
    "Content-Type": `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
    "Cache-Control": "no-store",
    Connection: "close",
  });
  res.flushHeaders();
  const write = (chunks: Buffer[]) => {
    if (res.destroyed) return;
    res.cork();
    for (const chunk of chunks) res.write(chunk);
    res.uncork();
    if (res.writableLength > MAX_BACKLOG_BYTES) res.destroy();
  };
  const stop = streams.hub(entry).listen({
    onPart: (body, code) => {
      if (attach.codes === "All" || attach.codes.has(code)) write(part(body));
    },
  });
  const heartbeat =
    attach.heartbeatSeconds === undefined
      ? undefined
      : setInterval(() => write(part("Heartbeat")), attach.heartbeatSeconds * 1000);
  res.once("close", () => {
    if (heartbeat) clearInterval(heartbeat);
    stop();
  });
}
