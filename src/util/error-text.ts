/** What a caught value says, for a log line or a status (anything may be thrown; this never throws). */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return "an unprintable error";
  }
}
