/**
 * xs:duration as ONVIF uses it (`PT60S`, `PT1M`, `PT0.5S`, `P1DT2H`): timeouts, termination times. Years
 * and months are refused (their length depends on the calendar; no ONVIF client sends them). No I/O.
 */
const DURATION = /^P(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,9}(?:\.\d{1,9})?)S)?)?$/;

/** Milliseconds, or undefined when the text is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  const match = DURATION.exec(trimmed);
  if (!match || trimmed === "P" || trimmed.endsWith("T")) return undefined;
  const [, days = "0", hours = "0", minutes = "0", seconds = "0"] = match;
  return Math.round(
    ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000,
  );
}

/** `PT<seconds>S`, for durations camgate writes. */
export function formatDuration(ms: number): string {
  return `PT${Math.round(ms / 1000)}S`;
}

/**
 * A WS-BaseNotification termination time: a duration from now or an absolute xs:dateTime. Milliseconds
 * from `now`, or undefined when it is neither.
 */
export function parseTermination(text: string, now: number): number | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith("P")) return parseDuration(trimmed);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? at - now : undefined;
}
