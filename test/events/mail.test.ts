/** Alarm e-mails sent by the emulated camera through camgate's SMTP server become events with snapshots. */
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAlarmMail, parseDmyTime } from "../../src/protocol/alarm-mail.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, httpGet, waitFor } from "../helpers/http.ts";
import { SseClient } from "../helpers/sse.ts";

describe("alarm e-mail parsing", () => {
  it("reads the reference capture's lines (D/M/Y time, empty Alarm Name)", () => {
    const mail = parseAlarmMail(
      "Alarm Event: Tamper Detect\r\nAlarm Input Channel: 1\r\nAlarm Start Time(D/M/Y H:M:S): 06/05/2018 15:28:40\r\nAlarm Device Name: AMC00056_24AAF8\r\nAlarm Name: \r\nIP Address: 192.168.0.60\r\n",
    );
    expect(mail).toMatchObject({
      code: "VideoBlind",
      action: "start",
      channel: 0,
      cameraTime: "2018-05-06T15:28:40",
      deviceName: "AMC00056_24AAF8",
      alarmName: undefined,
      ipAddress: "192.168.0.60",
    });
  });

  it.each([
    ["Motion Detect", "VideoMotion", "start"],
    ["Motion Detection", "VideoMotion", "start"],
    ["Motion Detection Start", "VideoMotion", "start"],
    ["Video Loss", "VideoLoss", "start"],
    ["Intrusion", "CrossRegionDetection", "start"],
    ["Smart Motion Human", "SmartMotionHuman", "start"],
    ["Disk Full Warning", "StorageLowSpace", "start"],
    ["Face Match Alarm", "EmailAlarm", "pulse"],
  ])("%s → %s", (text, code, action) => {
    expect(
      parseAlarmMail(`Alarm Event: ${text}\nAlarm Input Channel No.: 3\nChannel Name: Gate\n`),
    ).toMatchObject({ code, action, channel: 2, channelName: "Gate" });
  });

  it("reads stop mails and refuses text that is not an alarm", () => {
    expect(
      parseAlarmMail("Alarm Event: Motion Detection\nAlarm Stop Time(D/M/Y H:M:S): 31/12/2025 23:59:58\n"),
    ).toMatchObject({ action: "stop", cameraTime: "2025-12-31T23:59:58" });
    expect(parseAlarmMail("Hello,\nplease find the invoice attached.\n")).toBeUndefined();
    expect(parseDmyTime("32/01/2020 10:00:00")).toBeUndefined();
  });
});

describe("SMTP ingest", () => {
  let gw: TestGateway;
  let smtpPort = 0;
  let sse: SseClient;

  beforeAll(async () => {
    smtpPort = await freePort();
    gw = await startTestGateway({
      cameras: [
        {
          id: "dogs",
          profile: "amcrest-ip2m-841b",
          emulator: { smtp: { host: "127.0.0.1", port: smtpPort, username: "cams", password: "mail-pw" } },
        },
      ],
      smtp: { listen: `127.0.0.1:${smtpPort}`, username: "cams", password: "mail-pw", maxSizeBytes: 200_000 },
    });
    sse = new SseClient(`${gw.url}/api/v1/events/stream`);
    await sse.open();
  });
  afterAll(async () => {
    sse?.close();
    await gw?.close();
  });

  const transport = (user = "cams", pass = "mail-pw") =>
    nodemailer.createTransport({
      host: "127.0.0.1",
      port: smtpPort,
      secure: false,
      ignoreTLS: true,
      authMethod: "LOGIN",
      auth: { user, pass },
    });

  it("turns the emulator's alarm mail into an event whose snapshot is the attachment", async () => {
    const control = gw.cameras.get("dogs")?.control;
    control?.trigger("VideoBlind", "Start");
    await control?.mailsSettled();
    expect(gw.cameras.get("dogs")?.camera.mailErrors).toEqual([]);
    const [message] = await sse.waitFor(
      (m) => m.some((x) => x.data.source === "email"),
      10_000,
      "the mail event",
    );
    expect(message?.data).toMatchObject({
      camera: "dogs",
      source: "email",
      code: "VideoBlind",
      action: "start",
      snapshot: true,
      data: { eventText: "Tamper Detect", ipAddress: "127.0.0.1" },
    });
    const jpeg = await httpGet(`${gw.url}/api/v1/events/${message?.data.id}/snapshot.jpg`);
    expect(jpeg.body.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it("refuses mail that is not an alarm with 550, and wrong credentials, and counts them", async () => {
    await expect(
      transport().sendMail({ from: "a@b.c", to: "x@y.z", subject: "hi", text: "Just saying hello" }),
    ).rejects.toMatchObject({ responseCode: 550 });
    await expect(
      transport("cams", "wrong").sendMail({ from: "a@b.c", to: "x@y.z", text: "x" }),
    ).rejects.toThrow();
    const stats = gw.camgate.events.smtp?.stats;
    expect(stats?.notAlarm).toBe(1);
    expect(stats?.authFailures).toBe(1);
  });

  it("survives malformed and oversized mail, counting them", async () => {
    await expect(
      transport().sendMail({
        envelope: { from: "a@b.c", to: ["x@y.z"] },
        raw: 'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@@not base64@@@@\r\n',
      }),
    ).rejects.toMatchObject({ responseCode: 550 });
    await expect(
      transport().sendMail({
        from: "a@b.c",
        to: "x@y.z",
        text: `Alarm Event: Motion Detect\n${"x".repeat(300_000)}`,
      }),
    ).rejects.toMatchObject({ responseCode: 552 });
    const stats = gw.camgate.events.smtp?.stats;
    expect(stats?.oversized).toBe(1);
    expect((stats?.notAlarm ?? 0) + (stats?.malformed ?? 0)).toBeGreaterThanOrEqual(2);
    // Still serving: another alarm mail goes through.
    const before = sse.messages.length;
    gw.cameras.get("dogs")?.control.trigger("VideoMotion", "Start");
    await sse.waitFor(
      (m) => m.length > before && m.some((x) => x.data.code === "VideoMotion" && x.data.source === "email"),
      10_000,
      "another mail event",
    );
  });
});

describe("one motion, two sources", () => {
  let gw: TestGateway;
  let sse: SseClient;

  beforeAll(async () => {
    const smtpPort = await freePort();
    const mail = { smtp: { host: "127.0.0.1", port: smtpPort, username: "cams", password: "mail-pw" } };
    // Two cameras on one address: the mail's IP cannot tell them apart, only their names can.
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b", emulator: mail },
        { id: "yard", profile: "amcrest-ip2m-841b", emulator: mail },
      ],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
      smtp: { listen: `127.0.0.1:${smtpPort}`, username: "cams", password: "mail-pw" },
    });
    await waitFor(
      () =>
        gw.camgate.events.sources.streams.get("dogs")?.current === "live" &&
        gw.camgate.events.sources.streams.get("yard")?.current === "live"
          ? true
          : undefined,
      10_000,
      "both event streams",
    );
    sse = new SseClient(`${gw.url}/api/v1/events/stream`);
    await sse.open();
  });
  afterAll(async () => {
    sse?.close();
    await gw?.close();
  });

  it("the event stream's start and the alarm mail are one incident with two sources; the stop ends it", async () => {
    const control = gw.cameras.get("dogs")?.control;
    control?.trigger("VideoMotion", "Start");
    const both = await sse.waitFor(
      (m) =>
        m.some((x) => x.data.code === "VideoMotion" && x.data.source === "camera") &&
        m.some((x) => x.data.code === "VideoMotion" && x.data.source === "email"),
      10_000,
      "the stream's and the mail's start",
    );
    const [stream, mail] = ["camera", "email"].map((source) =>
      both.find((x) => x.data.code === "VideoMotion" && x.data.source === source),
    );
    expect(mail?.data.camera).toBe("dogs");
    expect(stream?.data.incident).toBeTruthy();
    expect(mail?.data.incident).toBe(stream?.data.incident);
    control?.trigger("VideoMotion", "Stop");
    const incident = await waitFor(
      async () => {
        const body = (await (await fetch(`${gw.url}/api/v1/incidents/${stream?.data.incident}`)).json()) as {
          ongoing: boolean;
          sources: string[];
          durationMs: number | null;
          transitions: { source: string; action: string }[];
        };
        return body.ongoing ? undefined : body;
      },
      10_000,
      "the incident to end",
    );
    expect(incident.sources).toEqual(["camera", "email"]);
    expect(incident.durationMs).toBeGreaterThan(0);
    expect(incident.transitions.map((t) => `${t.source} ${t.action}`)).toContain("camera stop");
    const list = (await (await fetch(`${gw.url}/api/v1/incidents?camera=dogs&code=VideoMotion`)).json()) as {
      incidents: { id: string }[];
    };
    expect(list.incidents.map((i) => i.id)).toEqual([stream?.data.incident]);
  });

  it("a camera renamed on the camera itself (MachineName) still gets its alarm mails", async () => {
    const control = gw.cameras.get("dogs")?.control;
    control?.setConfig("General.MachineName", "Kennel");
    const before = sse.messages.length;
    control?.trigger("VideoBlind", "Start");
    await control?.mailsSettled();
    const isMail = (x: (typeof sse.messages)[number]) =>
      x.data.source === "email" && x.data.code === "VideoBlind";
    const messages = await sse.waitFor(
      (m) => m.slice(before).some(isMail),
      10_000,
      "the renamed camera's mail",
    );
    const mail = messages.slice(before).find(isMail);
    expect(mail?.data).toMatchObject({ camera: "dogs", data: { deviceName: "Kennel" } });
    expect(gw.camgate.events.smtp?.stats.unknownCamera).toBe(0);
  });
});

describe("SMTP AUTH rate limit", () => {
  let gw: TestGateway;
  let smtpPort = 0;
  beforeAll(async () => {
    smtpPort = await freePort();
    gw = await startTestGateway({
      smtp: { listen: `127.0.0.1:${smtpPort}`, username: "cams", password: "mail-pw" },
      server: { authRateLimit: { failures: 5, windowSeconds: 600 } },
    });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("refuses logins from an address that failed too often, the right password included (the HTTP limiter's rule)", async () => {
    const send = (pass: string) =>
      nodemailer
        .createTransport({
          host: "127.0.0.1",
          port: smtpPort,
          secure: false,
          ignoreTLS: true,
          authMethod: "LOGIN",
          auth: { user: "cams", pass },
        })
        .sendMail({ from: "a@b.c", to: "x@y.z", text: "Alarm Event: Motion Detect\n" });
    for (let i = 0; i < 5; i++) await expect(send(`guess-${i}`)).rejects.toMatchObject({ responseCode: 535 });
    await expect(send("mail-pw")).rejects.toMatchObject({ responseCode: 454 });
    const stats = gw.camgate.events.smtp?.stats;
    expect(stats?.authFailures).toBe(5);
    expect(stats?.rateLimited).toBe(1);
  });
});
