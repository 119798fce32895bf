/**
 * Alarm e-mails in: an SMTP server (smtp-server) for the cameras' "Email" alarm action. AUTH LOGIN (what the
 * cameras use) and PLAIN with the configured credentials (or any, on a trusted LAN), STARTTLS when a
 * certificate is configured, and a size limit. A Dahua alarm mail becomes an event, its JPEG attachment the
 * event's snapshot; mail that is not an alarm is refused with 550; malformed or oversized mail is counted,
 * never a crash.
 */
import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { ParsedMail } from "mailparser";
import type { SMTPServer, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import { type AlarmMail, parseAlarmMail } from "../protocol/alarm-mail.ts";
import type { NewEvent } from "./model.ts";

export interface SmtpIngestOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  acceptAnyCredentials: boolean;
  tls?: { cert: string; key: string };
  maxSizeBytes: number;
  /** Which configured camera sent this mail (by sender address, device name or IP address), or undefined. */
  matchCamera: (
    mail: AlarmMail,
    sender: string | undefined,
    remoteAddress: string | undefined,
  ) => Promise<string | undefined>;
  publish: (event: NewEvent) => void;
  /** Failed logins per client address: the same limiter as the HTTP front door (server.authRateLimit). */
  limiter: { blockedFor(address: string): number; record(address: string): void };
  log: (level: "info" | "warn", message: string, fields?: Record<string, unknown>) => void;
}

/** An SMTP answer other than 250 for a message (smtp-server sends `responseCode` with the message). */
class SmtpRefusal extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
    this.name = "SmtpRefusal";
  }
}

export interface SmtpStats {
  accepted: number;
  notAlarm: number;
  unknownCamera: number;
  malformed: number;
  oversized: number;
  authFailures: number;
  /** Logins refused without a check because the address failed too often. */
  rateLimited: number;
}

export class SmtpIngest {
  readonly stats: SmtpStats = {
    accepted: 0,
    notAlarm: 0,
    unknownCamera: 0,
    malformed: 0,
    oversized: 0,
    authFailures: 0,
    rateLimited: 0,
  };
  private server: SMTPServer | undefined;
  port = 0;

  constructor(private readonly options: SmtpIngestOptions) {}

  /**
   * smtp-server and mailparser are loaded here, when alarm mail is configured: ~27 MB of memory once
   * loaded, which a camgate without `smtp` should not pay (issue 30).
   */
  private async makeServer(): Promise<SMTPServer> {
    const options = this.options;
    const { SMTPServer } = await import("smtp-server");
    const tls = options.tls
      ? { key: readFileSync(options.tls.key), cert: readFileSync(options.tls.cert) }
      : undefined;
    const server = new SMTPServer({
      name: "camgate",
      banner: "camgate alarm mail",
      authMethods: ["LOGIN", "PLAIN"],
      // Cameras on a LAN speak plain SMTP; without a certificate there is no STARTTLS to offer.
      allowInsecureAuth: true,
      ...(tls ? { key: tls.key, cert: tls.cert } : { disabledCommands: ["STARTTLS"] }),
      size: options.maxSizeBytes,
      authOptional: options.acceptAnyCredentials,
      logger: false,
      onAuth: (auth, session, callback) => {
        if (options.acceptAnyCredentials) return callback(null, { user: auth.username ?? "camera" });
        const address = session.remoteAddress ?? "unknown";
        const blocked = options.limiter.blockedFor(address);
        if (blocked > 0) {
          this.stats.rateLimited++;
          return callback(
            new SmtpRefusal(454, `Too many failed logins; try again in ${Math.ceil(blocked / 1000)} s`),
          );
        }
        if (sameText(auth.username, options.username) && sameText(auth.password, options.password))
          return callback(null, { user: auth.username ?? "camera" });
        this.stats.authFailures++;
        options.limiter.record(address);
        callback(new SmtpRefusal(535, "Invalid username or password"));
      },
      onData: (stream, session, callback) => {
        void this.receive(stream, session).then(
          () => callback(),
          (error: Error & { responseCode?: number }) => callback(error),
        );
      },
    });
    server.on("error", (error) => options.log("warn", "SMTP server error", { err: error.message }));
    return server;
  }

  async listen(): Promise<void> {
    const server = await this.makeServer();
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.server.once("error", reject);
      server.listen(this.options.port, this.options.host, () => {
        server.server.off("error", reject);
        resolve();
      });
    });
    this.port = (server.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    if (stream.sizeExceeded) {
      this.stats.oversized++;
      throw new SmtpRefusal(552, `Message exceeds the size limit of ${this.options.maxSizeBytes} bytes`);
    }
    let parsed: ParsedMail;
    try {
      const { simpleParser } = await import("mailparser");
      parsed = await simpleParser(Buffer.concat(chunks));
    } catch (error) {
      this.stats.malformed++;
      throw new SmtpRefusal(550, `Malformed message: ${String(error)}`);
    }
    const alarm = parseAlarmMail(parsed.text ?? "");
    if (!alarm) {
      this.stats.notAlarm++;
      throw new SmtpRefusal(550, "Not a camera alarm mail");
    }
    const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined;
    const camera = await this.options.matchCamera(alarm, sender, session.remoteAddress);
    if (!camera) {
      this.stats.unknownCamera++;
      this.options.log("warn", "alarm mail from an unknown camera", {
        device: alarm.deviceName,
        ip: alarm.ipAddress,
        sender,
      });
      throw new SmtpRefusal(550, "Alarm mail from a camera camgate does not know");
    }
    const jpeg = parsed.attachments.find(
      (a) =>
        a.contentType === "image/jpeg" ||
        /\.jpe?g$/i.test(a.filename ?? "") ||
        (a.content[0] === 0xff && a.content[1] === 0xd8),
    );
    this.stats.accepted++;
    this.options.publish({
      camera,
      source: "email",
      code: alarm.code,
      action: alarm.action,
      channel: alarm.channel,
      data: {
        eventText: alarm.eventText,
        ...(alarm.deviceName ? { deviceName: alarm.deviceName } : {}),
        ...(alarm.ipAddress ? { ipAddress: alarm.ipAddress } : {}),
        ...(alarm.alarmName ? { alarmName: alarm.alarmName } : {}),
        ...(alarm.channelName ? { channelName: alarm.channelName } : {}),
        ...(alarm.code === "EmailAlarm" ? { text: (parsed.text ?? "").slice(0, 2000) } : {}),
        ...(jpeg?.filename ? { attachment: jpeg.filename } : {}),
      },
      cameraTime: alarm.cameraTime ?? null,
      ...(jpeg && jpeg.content[0] === 0xff && jpeg.content[1] === 0xd8 ? { snapshotJpeg: jpeg.content } : {}),
    });
  }
}

/** Constant-time comparison of a credential with the configured one (none configured never matches). */
function sameText(given: string | null | undefined, expected: string | undefined): boolean {
  if (given == null || expected === undefined) return false;
  const left = Buffer.from(given);
  const right = Buffer.from(expected);
  return left.length === right.length && timingSafeEqual(left, right);
}
