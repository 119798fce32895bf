/**
 * The text of a Dahua/Amcrest alarm e-mail → event fields (reference §4). The decoded body is `Key: value`
 * lines, e.g. (IP2M-841B, 2.520.AC00.18.R, 2018):
 *
 *   Alarm Event: Tamper Detect
 *   Alarm Input Channel: 1
 *   Alarm Start Time(D/M/Y H:M:S): 06/05/2018 15:28:40
 *   Alarm Device Name: AMC00056_24AAF8
 *   Alarm Name:
 *   IP Address: 192.168.0.60
 *
 * Variants: `Motion Detection` (Dahua IPC), `Motion Detection Start` (EZIP), `Motion Detect` (Amcrest),
 * `Intrusion`, `Smart Motion Human`; XVRs write `Alarm Input Channel No.: 3` and `Channel Name:`; stop mails
 * carry `Alarm Stop Time(D/M/Y H:M:S)`. The date is always day/month/year.
 */

export interface AlarmMail {
  /** Camera event code: VideoMotion, VideoBlind, VideoLoss, ... or EmailAlarm for others. */
  code: string;
  action: "start" | "stop" | "pulse";
  /** The `Alarm Event:` text as written. */
  eventText: string;
  /** 0-based channel (the mail's channel is 1-based). */
  channel: number;
  /** `YYYY-MM-DDTHH:MM:SS` camera wall clock (no zone), or undefined. */
  cameraTime: string | undefined;
  deviceName: string | undefined;
  alarmName: string | undefined;
  ipAddress: string | undefined;
  channelName: string | undefined;
  fields: Record<string, string>;
}

const CODES: [RegExp, string][] = [
  [/^motion detect(ion)?\b/i, "VideoMotion"],
  [/^tamper( detect(ion)?)?\b/i, "VideoBlind"],
  [/^video (blind|mask)/i, "VideoBlind"],
  [/^video loss\b/i, "VideoLoss"],
  [/^(local alarm|alarm local|alarm input)\b/i, "AlarmLocal"],
  [/^smart motion human\b/i, "SmartMotionHuman"],
  [/^smart motion vehicle\b/i, "SmartMotionVehicle"],
  [/^(intrusion|cross region)/i, "CrossRegionDetection"],
  [/^(tripwire|cross line)/i, "CrossLineDetection"],
  [/^audio (anomaly|detect)/i, "AudioAnomaly"],
  [/^(storage|disk|hdd) (error|failure)/i, "StorageFailure"],
  [/^(no (sd|disk|storage)|storage not exist)/i, "StorageNotExist"],
  [/^(storage|disk) (full|low space)/i, "StorageLowSpace"],
];

/** `06/05/2018 15:28:40` (D/M/Y) → `2018-05-06T15:28:40`. */
export function parseDmyTime(text: string): string | undefined {
  const match = /^(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!match) return undefined;
  const [, d, m, y, hh, mm, ss] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const day = Number(d);
  const month = Number(m);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const pad = (n: string) => n.padStart(2, "0");
  return `${y}-${pad(m)}-${pad(d)}T${pad(hh)}:${mm}:${ss}`;
}

/** Parses the decoded text; undefined when it is not an alarm mail (no `Alarm Event:` line). */
export function parseAlarmMail(text: string): AlarmMail | undefined {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    // Keys like "Alarm Start Time(D/M/Y H:M:S)" contain colons in the parenthesis: split after it.
    const paren = line.indexOf(")");
    const realColon = key.includes("(") && paren > colon ? line.indexOf(":", paren) : colon;
    fields[line.slice(0, realColon).trim()] = line.slice(realColon + 1).trim();
  }
  const eventText = fields["Alarm Event"];
  if (eventText === undefined || eventText === "") return undefined;
  const stopTime = Object.entries(fields).find(([k]) => /^Alarm Stop Time/i.test(k))?.[1];
  const startTime = Object.entries(fields).find(([k]) => /^Alarm (Start )?Time/i.test(k))?.[1];
  const stopWord = /\b(stop|end)$/i.test(eventText);
  const startWord = /\bstart$/i.test(eventText);
  const baseText = eventText.replace(/\s+(start|stop|end)$/i, "");
  const code = CODES.find(([pattern]) => pattern.test(baseText))?.[1] ?? "EmailAlarm";
  const channelText =
    fields["Alarm Input Channel"] ?? fields["Alarm Input Channel No."] ?? fields["Alarm Channel"] ?? "1";
  const channel = Math.max(0, (Number.parseInt(channelText, 10) || 1) - 1);
  const optional = (value: string | undefined) => (value === undefined || value === "" ? undefined : value);
  return {
    code,
    action:
      stopTime !== undefined || stopWord ? "stop" : startWord || code !== "EmailAlarm" ? "start" : "pulse",
    eventText,
    channel,
    cameraTime: parseDmyTime(stopTime ?? startTime ?? ""),
    deviceName: optional(fields["Alarm Device Name"] ?? fields["Device Name"]),
    alarmName: optional(fields["Alarm Name"]),
    ipAddress: optional(fields["IP Address"]),
    channelName: optional(fields["Channel Name"]),
    fields,
  };
}
