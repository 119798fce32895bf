/**
 * Dahua alarm e-mails, byte for byte as an Amcrest IP2M-841B on 2.520.AC00.18.R sends them (jantman 2018
 * capture, reference §4): base64 subject, `Content-type` in mixed case with a quoted boundary
 * `======DAHUA_TECH======`, folded part headers with 8-space continuations, three blank lines before each
 * boundary, and a JPEG attachment named `YYYYMMDDhhmmssSSSchNN.jpg`. Sent through nodemailer with AUTH LOGIN,
 * the only mechanism observed from these cameras.
 */
import nodemailer from "nodemailer";

export interface AlarmMailInputs {
  /** "Motion Detect", "Tamper Detect", "Video Loss", ... */
  eventName: string;
  /** 1-based channel as the mail shows it. */
  channel: number;
  /** Camera wall-clock time of the alarm. */
  time: Date;
  deviceName: string;
  alarmName: string;
  ipAddress: string;
  from: string;
  to: readonly string[];
  title: string;
  jpeg?: Buffer;
  /** Stop mails say `Alarm Stop Time`. */
  stop?: boolean;
}

const BOUNDARY = "======DAHUA_TECH======";

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** The camera's clock is kept as UTC wall time, so these read the UTC fields. */
export function attachmentName(time: Date, channel: number): string {
  return (
    `${time.getUTCFullYear()}${pad(time.getUTCMonth() + 1)}${pad(time.getUTCDate())}` +
    `${pad(time.getUTCHours())}${pad(time.getUTCMinutes())}${pad(time.getUTCSeconds())}` +
    `${pad(time.getUTCMilliseconds(), 3)}ch${pad(channel)}.jpg`
  );
}

/** `06/05/2018 15:28:40`: the D/M/Y order of the reference capture. */
export function dmyTime(time: Date): string {
  return (
    `${pad(time.getUTCDate())}/${pad(time.getUTCMonth() + 1)}/${time.getUTCFullYear()} ` +
    `${pad(time.getUTCHours())}:${pad(time.getUTCMinutes())}:${pad(time.getUTCSeconds())}`
  );
}

/** The decoded text part, CRLF-terminated, with the trailing space after `Alarm Name:` of the capture. */
export function alarmText(inputs: AlarmMailInputs): string {
  const timeLabel = inputs.stop ? "Alarm Stop Time(D/M/Y H:M:S)" : "Alarm Start Time(D/M/Y H:M:S)";
  return (
    `Alarm Event: ${inputs.eventName}\r\n` +
    `Alarm Input Channel: ${inputs.channel}\r\n` +
    `${timeLabel}: ${dmyTime(inputs.time)}\r\n` +
    `Alarm Device Name: ${inputs.deviceName}\r\n` +
    `Alarm Name: ${inputs.alarmName}\r\n` +
    `IP Address: ${inputs.ipAddress}\r\n`
  );
}

function base64Lines(data: Buffer): string {
  return (data.toString("base64").match(/.{1,76}/g) ?? []).join("\r\n");
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function rfc2822Date(time: Date): string {
  return (
    `${DAYS[time.getUTCDay()]}, ${pad(time.getUTCDate())} ${MONTHS[time.getUTCMonth()]} ${time.getUTCFullYear()} ` +
    `${pad(time.getUTCHours())}:${pad(time.getUTCMinutes())}:${pad(time.getUTCSeconds())} +0000`
  );
}

/** The whole RFC 5322 message as the camera writes it. */
export function composeAlarmMail(inputs: AlarmMailInputs): string {
  const subject = `=?UTF-8?B?${Buffer.from(inputs.title, "utf8").toString("base64")}?=`;
  let message =
    `Date: ${rfc2822Date(inputs.time)}\r\n` +
    `From: <${inputs.from}>\r\n` +
    `To: ${inputs.to.map((address) => `<${address}>`).join(", ")}\r\n` +
    `Subject: ${subject}\r\n` +
    "MIME-Version: 1.0\r\n" +
    `Content-type: multipart/mixed;boundary="${BOUNDARY}"\r\n` +
    "\r\n" +
    "This is a multi-part message in MIME format.\r\n" +
    "\r\n" +
    `--${BOUNDARY}\r\n` +
    "Content-Type: text/plain;\r\n" +
    "        charset=UTF-8\r\n" +
    "Content-Transfer-Encoding: base64\r\n" +
    "\r\n" +
    `${base64Lines(Buffer.from(alarmText(inputs), "utf8"))}\r\n` +
    "\r\n\r\n\r\n";
  if (inputs.jpeg) {
    const name = attachmentName(inputs.time, inputs.channel);
    message +=
      `--${BOUNDARY}\r\n` +
      "Content-Type: application/octet-stream;\r\n" +
      `        name="${name}"\r\n` +
      "Content-Disposition: attachment;\r\n" +
      `        filename="${name}"\r\n` +
      "Content-Transfer-Encoding: base64\r\n" +
      "\r\n" +
      `${base64Lines(inputs.jpeg)}\r\n` +
      "\r\n\r\n\r\n";
  }
  message += `--${BOUNDARY}--\r\n`;
  return message;
}

export interface SmtpTarget {
  host: string;
  port: number;
  username: string;
  password: string;
  /** Implicit TLS ("SSL" in the camera UI) on port 465. */
  secure?: boolean;
}

/** Sends one alarm mail; resolves when the server accepted it, rejects with its error otherwise. */
export async function sendAlarmMail(target: SmtpTarget, inputs: AlarmMailInputs): Promise<void> {
  const transport = nodemailer.createTransport({
    host: target.host,
    port: target.port,
    secure: target.secure ?? false,
    // Cameras greet with EHLO and authenticate with AUTH LOGIN (kost/smtp2mqtt#1, reference §4).
    name: "localhost",
    authMethod: "LOGIN",
    auth: { user: target.username, pass: target.password },
    ignoreTLS: !target.secure,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    tls: { rejectUnauthorized: false },
  });
  try {
    await transport.sendMail({
      envelope: { from: inputs.from, to: [...inputs.to] },
      raw: composeAlarmMail(inputs),
    });
  } finally {
    transport.close();
  }
}
