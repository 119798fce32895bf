/**
 * Clock times for notifications: whether a moment falls in quiet hours (which may span midnight), and the
 * time of day as a message says it, in the target's time zone (default the machine's). Pure.
 */

/** Minutes since midnight at `at` in `timeZone`. */
export function minuteOfDay(at: Date, timeZone?: string): number {
  const parts = new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    ...(timeZone ? { timeZone } : {}),
  }).formatToParts(at);
  const hour = Number(parts.find((p) => p.type === "hour")?.value);
  const minute = Number(parts.find((p) => p.type === "minute")?.value);
  return hour * 60 + minute;
}

const minutesOf = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/**
 * Whether `at` is within [from, to): `22:00`–`07:00` spans midnight; equal times mean no quiet hours at all
 * (a whole day of silence is what turning the target off is for).
 */
export function isQuiet(hours: { from: string; to: string }, at: Date, timeZone?: string): boolean {
  const from = minutesOf(hours.from);
  const to = minutesOf(hours.to);
  if (from === to) return false;
  const now = minuteOfDay(at, timeZone);
  return from < to ? now >= from && now < to : now >= from || now < to;
}

/** `14:02` in the target's zone: what a lock screen shows. */
export function clockText(at: Date, timeZone?: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    ...(timeZone ? { timeZone } : {}),
  }).format(at);
}
