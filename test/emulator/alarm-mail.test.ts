/** Alarm e-mails from the emulator, received by a real SMTP server and parsed back (reference §4). */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterEach, describe, expect, it } from "vitest";
import { attachmentName, dmyTime } from "../../src/emulator/alarm-mail.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { waitFor } from "../helpers/http.ts";

interface Received {
  raw: Buffer;
  authMethod: string;
  username: string;
}

async function startSmtp(): Promise<{ server: SMTPServer; port: number; mails: Received[] }> {
  const mails: Received[] = [];
  const server = new SMTPServer({
    authMethods: ["LOGIN", "PLAIN"],
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    onAuth(auth, _session, callback) {
      if (auth.username === "cam" && auth.password === "mail-pass")
        callback(null, { user: `${auth.method}:${auth.username}` });
      else callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const [method, username] = String(session.user).split(":");
        mails.push({ raw: Buffer.concat(chunks), authMethod: method ?? "", username: username ?? "" });
        callback();
      });
    },
  });
  server.listen(0, "127.0.0.1");
  await once(server.server, "listening");
  return { server, port: (server.server.address() as AddressInfo).port, mails };
}

describe("alarm e-mail", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("names the attachment YYYYMMDDhhmmssSSSchNN.jpg and writes D/M/Y times", () => {
    const time = new Date(Date.UTC(2018, 4, 6, 15, 28, 40, 423));
    expect(attachmentName(time, 1)).toBe("20180506152840423ch01.jpg");
    expect(dmyTime(time)).toBe("06/05/2018 15:28:40");
  });

  it("sends a Dahua alarm mail with AUTH LOGIN that parses back to the exact lines and the JPEG", async () => {
    const smtp = await startSmtp();
    cleanups.push(() => new Promise((resolve) => smtp.server.close(() => resolve())));
    const emulator: RunningEmulator = await startEmulator({
      profile: "amcrest-ip2m-841b",
      password: "secret",
      smtp: { host: "127.0.0.1", port: smtp.port, username: "cam", password: "mail-pass" },
    });
    cleanups.push(() => emulator.close());
    const camera = emulator.cameras[0];
    if (!camera) throw new Error("no camera");
    camera.camera.setCameraTime(new Date(Date.UTC(2018, 4, 6, 15, 28, 40, 423)));

    camera.control.trigger("VideoBlind", "Start");
    await camera.control.mailsSettled();
    expect(camera.camera.mailErrors).toEqual([]);
    const mail = await waitFor(() => smtp.mails[0], 10_000, "the alarm mail");
    expect(mail.authMethod).toBe("LOGIN");
    expect(mail.username).toBe("cam");

    const raw = mail.raw.toString("latin1");
    expect(raw).toContain("Subject: =?UTF-8?B?SVBDIE1lc3NhZ2U=?=\r\n");
    expect(raw).toContain('Content-type: multipart/mixed;boundary="======DAHUA_TECH======"\r\n');
    expect(raw).toContain("Content-Type: text/plain;\r\n        charset=UTF-8\r\n");
    expect(raw).toMatch(
      /\r\n\r\n\r\n\r\n--======DAHUA_TECH======\r\nContent-Type: application\/octet-stream;/,
    );

    const parsed = await simpleParser(mail.raw);
    expect(parsed.subject).toBe("IPC Message");
    const lines = parsed.text?.split("\n").map((line) => line.replace(/\r$/, ""));
    expect(lines?.slice(0, 6)).toEqual([
      "Alarm Event: Tamper Detect",
      "Alarm Input Channel: 1",
      expect.stringMatching(/^Alarm Start Time\(D\/M\/Y H:M:S\): 06\/05\/2018 15:28:4\d$/),
      "Alarm Device Name: AMC00056_24AAF8",
      "Alarm Name: ",
      "IP Address: 127.0.0.1",
    ]);
    expect(parsed.attachments).toHaveLength(1);
    const attachment = parsed.attachments[0];
    expect(attachment?.filename).toMatch(/^2018050615284\d\d{3}ch01\.jpg$/);
    expect(attachment?.content.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });

  it("sends nothing when Email is disabled, and reports a refused login as a mail error", async () => {
    const smtp = await startSmtp();
    cleanups.push(() => new Promise((resolve) => smtp.server.close(() => resolve())));
    const emulator = await startEmulator({
      profile: "dahua-2024",
      password: "secret",
      smtp: { host: "127.0.0.1", port: smtp.port, username: "cam", password: "wrong" },
    });
    cleanups.push(() => emulator.close());
    const camera = emulator.cameras[0];
    if (!camera) throw new Error("no camera");
    camera.control.trigger("VideoMotion", "Start");
    await camera.control.mailsSettled();
    expect(camera.camera.mailErrors).toHaveLength(1);
    camera.control.setConfig("Email.Enable", false);
    camera.control.trigger("VideoMotion", "Start", { index: 0 });
    await camera.control.mailsSettled();
    expect(camera.camera.mailErrors).toHaveLength(1);
    expect(smtp.mails).toHaveLength(0);
  });
});
