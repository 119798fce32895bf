/**
 * Log lines for a person at a terminal: `12:00:01 WARN  camera offline  camera=dogs reason=...`, from pino's
 * JSON lines. Only used when stdout is a TTY (or `log.format: pretty`); a service manager or a container
 * gets the JSON lines untouched, and nothing else on stdout.
 */
import { Writable } from "node:stream";

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
const OMITTED = new Set(["level", "time", "msg", "pid", "hostname"]);

function field(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

/** One JSON log record as one readable line (a line that is not JSON is passed on as it is). */
export function prettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = new Date(typeof record.time === "number" ? record.time : Date.now());
  const clock = time.toTimeString().slice(0, 8);
  const level = LEVELS[Number(record.level)] ?? String(record.level);
  const rest = Object.entries(record)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${field(value)}`)
    .join(" ");
  return `${clock} ${level} ${String(record.msg ?? "")}${rest ? `  ${rest}` : ""}`;
}

export function prettyStream(out: NodeJS.WritableStream): Writable {
  let pending = "";
  return new Writable({
    write(chunk, _encoding, callback) {
      pending += String(chunk);
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line) out.write(`${prettyLine(line)}\n`);
      callback();
    },
  });
}
