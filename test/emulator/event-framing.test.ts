/** Event stream bytes per firmware family, compared byte for byte with the captures of reference §2.7. */
import { afterEach, describe, expect, it } from "vitest";
import { eventPart, styledJson, tabbedJson } from "../../src/emulator/event-framing.ts";
import { type ProfileName, type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { waitFor } from "../helpers/http.ts";
import { type OpenStream, openStream } from "../helpers/stream.ts";

const PASSWORD = "secret";

describe("event framing writers", () => {
  it("reproduces the 2019 Dahua TimeChange part byte for byte (Content-Length:135, body ends in }\\n)", () => {
    const part = eventPart(
      {
        code: "TimeChange",
        action: "Pulse",
        index: 0,
        data: { BeforeModifyTime: "2019-02-20 13:49:58", ModifiedTime: "2019-02-20 13:49:58" },
      },
      "jsoncpp-2019",
    ).toString();
    expect(part).toBe(
      "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:135\r\n\r\n" +
        'Code=TimeChange;action=Pulse;index=0;data={\n   "BeforeModifyTime" : "2019-02-20 13:49:58",\n   "ModifiedTime" : "2019-02-20 13:49:58"\n}\n' +
        "\r\n\r\n",
    );
  });

  it("reproduces the 2016 Amcrest part without data (Content-Length:37 exact)", () => {
    expect(eventPart({ code: "VideoMotion", action: "Start", index: 0 }, "plain-2016").toString()).toBe(
      "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:37\r\n\r\nCode=VideoMotion;action=Start;index=0\r\n\r\n",
    );
  });

  it("reproduces the 2020 NVR part (78 counts the final \\n)", () => {
    const part = eventPart(
      { code: "VideoMotion", action: "Start", index: 7, data: { SmartMotionEnable: false } },
      "jsoncpp-2019",
    );
    expect(part.toString()).toBe(
      "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:78\r\n\r\n" +
        'Code=VideoMotion;action=Start;index=7;data={\n   "SmartMotionEnable" : false\n}\n\r\n\r\n',
    );
  });

  it("writes the 2023 cJSON shape: space after the colon, tabs, length without the final \\n", () => {
    const data = { LocaleTime: "2023-08-11 21:37:30", UTC: 1691815050, Name: "IPC", SmartMotionEnable: true };
    const body = `Code=VideoMotion;action=Start;index=0;data=${tabbedJson(data)}`;
    expect(tabbedJson(data)).toBe(
      '{\n\t"LocaleTime":\t"2023-08-11 21:37:30",\n\t"UTC":\t1691815050,\n\t"Name":\t"IPC",\n\t"SmartMotionEnable":\ttrue\n}',
    );
    expect(eventPart({ code: "VideoMotion", action: "Start", index: 0, data }, "cjson-2023").toString()).toBe(
      `--myboundary\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}\n\r\n\r\n`,
    );
  });

  it("writes jsoncpp arrays of scalars on one line, as the 2022 dump shows", () => {
    expect(styledJson({ Id: [0], RegionName: ["Region1"] })).toBe(
      '{\n   "Id" : [ 0 ],\n   "RegionName" : [ "Region1" ]\n}',
    );
  });
});

describe("event streams of each profile", () => {
  const running: RunningEmulator[] = [];
  const streams: OpenStream[] = [];
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await Promise.all(running.splice(0).map((e) => e.close()));
  });

  async function attach(profile: ProfileName, query = "codes=%5BAll%5D&heartbeat=1") {
    const emulator = await startEmulator({ profile, password: PASSWORD });
    running.push(emulator);
    const camera = emulator.cameras[0];
    if (!camera) throw new Error("no camera");
    const stream = await openStream(camera.url, `/cgi-bin/eventManager.cgi?action=attach&${query}`, PASSWORD);
    streams.push(stream);
    return { camera, stream };
  }

  it("answers attach with the spec's headers and no chunked encoding", async () => {
    const { stream } = await attach("amcrest-ip2m-841b");
    expect(stream.response.statusCode).toBe(200);
    expect(stream.response.headers["content-type"]).toBe("multipart/x-mixed-replace; boundary=myboundary");
    expect(stream.response.headers["transfer-encoding"]).toBeUndefined();
    expect(stream.response.headers.expires).toBe("Thu, 01 Dec 2099 16:00:00 GMT");
    expect(stream.response.headers.connection).toBe("close");
  });

  it("amcrest-ip2m-841b: heartbeat with the CRLF before the boundary, then a 2019-style motion part", async () => {
    const { camera, stream } = await attach("amcrest-ip2m-841b");
    const heartbeat = "\r\n--myboundary\r\nContent-Type: text/plain\r\nContent-Length:9\r\n\r\nHeartbeat";
    await stream.waitUntil((b) => b.toString().startsWith(heartbeat), 5000, "first heartbeat");
    const before = stream.bytes().length;
    camera.control.trigger("VideoMotion", "Start");
    const body =
      'Code=VideoMotion;action=Start;index=0;data={\n   "Id" : [ 0 ],\n   "RegionName" : [ "Region1" ],\n   "SmartMotionEnable" : false\n}\n';
    const expected = `--myboundary\r\nContent-Type: text/plain\r\nContent-Length:${Buffer.byteLength(body)}\r\n\r\n${body}\r\n\r\n`;
    const bytes = await stream.waitUntil(
      (b) => b.subarray(before).toString().includes(expected),
      5000,
      "motion part",
    );
    expect(bytes.subarray(before).toString().replaceAll(heartbeat, "")).toBe(expected);
  });

  it("dahua-2024: Content-Length with a space and cJSON data with EventID, LocaleTime and UTC", async () => {
    const { camera, stream } = await attach("dahua-2024", "codes=[VideoMotion]");
    camera.control.trigger("VideoMotion", "Start");
    const bytes = await stream.waitUntil((b) => b.toString().includes("}\n\r\n\r\n"), 5000, "motion part");
    const text = bytes.toString();
    const match =
      /^--myboundary\r\nContent-Type: text\/plain\r\nContent-Length: (\d+)\r\n\r\n([\s\S]*)\n\r\n\r\n$/.exec(
        text,
      );
    expect(match).not.toBeNull();
    const body = match?.[2] ?? "";
    expect(Number(match?.[1])).toBe(Buffer.byteLength(body));
    expect(body).toMatch(
      /^Code=VideoMotion;action=Start;index=0;data=\{\n\t"EventID":\t\d+,\n\t"LocaleTime":\t"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",\n\t"UTC":\t\d+,\n\t"Id":\t\[0\],/,
    );
  });

  it("legacy-2014: parts without data, exact length", async () => {
    const { camera, stream } = await attach("legacy-2014", "codes=[All]");
    camera.control.trigger("VideoMotion", "Stop");
    const expected =
      "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:36\r\n\r\nCode=VideoMotion;action=Stop;index=0\r\n\r\n";
    const bytes = await stream.waitUntil((b) => b.length >= expected.length, 5000, "stop part");
    expect(bytes.toString()).toBe(expected);
  });

  it("nvr-strict-nonce: index is the 0-based channel; only subscribed codes are sent", async () => {
    const { camera, stream } = await attach("nvr-strict-nonce", "codes=[VideoLoss]");
    camera.control.trigger("VideoMotion", "Start", { index: 2 });
    camera.control.trigger("VideoLoss", "Start", { index: 3 });
    const bytes = await stream.waitUntil(
      (b) => b.toString().includes("\r\n\r\n", 60),
      5000,
      "video loss part",
    );
    expect(bytes.toString()).toBe(
      "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:35\r\n\r\nCode=VideoLoss;action=Start;index=3\r\n\r\n",
    );
  });

  it("runs motion cycles while MotionDetect is enabled: Start, VideoMotionInfo chatter, Stop", async () => {
    const emulator = await startEmulator({
      profile: "amcrest-ip2m-841b",
      password: PASSWORD,
      motionCycle: { everyMs: 300, durationMs: 1200 },
    });
    running.push(emulator);
    const camera = emulator.cameras[0];
    if (!camera) throw new Error("no camera");
    const stream = await openStream(
      camera.url,
      "/cgi-bin/eventManager.cgi?action=attach&codes=[VideoMotion,VideoMotionInfo]",
      PASSWORD,
    );
    streams.push(stream);
    const text = (
      await stream.waitUntil(
        (b) => b.toString().includes("Code=VideoMotion;action=Stop"),
        10_000,
        "a motion cycle",
      )
    ).toString();
    const start = text.indexOf("Code=VideoMotion;action=Start");
    expect(start).toBeGreaterThanOrEqual(0);
    expect(text.indexOf("Code=VideoMotionInfo;action=State", start)).toBeGreaterThan(start);
  });

  it("data=null is written literally (AudioMutation Stop fixture)", async () => {
    const { camera, stream } = await attach("amcrest-ip2m-841b", "codes=[AudioMutation]");
    camera.control.trigger("AudioMutation", "Stop", { data: null });
    const bytes = await stream.waitUntil((b) => b.toString().endsWith("\r\n\r\n"), 5000, "part");
    expect(bytes.toString()).toContain(
      "Content-Length:48\r\n\r\nCode=AudioMutation;action=Stop;index=0;data=null\r\n\r\n",
    );
  });

  it("getEventIndexes lists active channels and errors when none is active", async () => {
    const { camera } = await attach("nvr-strict-nonce", "codes=[All]");
    const { digestGet } = await import("../helpers/digest-client.ts");
    const target = "/cgi-bin/eventManager.cgi?action=getEventIndexes&code=VideoMotion";
    const none = await digestGet(camera.url, target, { password: PASSWORD });
    expect(none.response.status).toBe(400);
    expect(none.response.text).toBe("Error\r\nBad Request!\r\n");
    camera.control.trigger("VideoMotion", "Start", { index: 1 });
    camera.control.trigger("VideoMotion", "Start", { index: 3 });
    camera.control.trigger("VideoMotion", "Stop", { index: 1 });
    const some = await digestGet(camera.url, target, { password: PASSWORD });
    expect(some.response.text).toBe("channels[0]=3\r\n");
  });

  it("the malformed-part fault writes a stray HTTP header block and a part with a non-numeric length", async () => {
    const { camera, stream } = await attach("amcrest-ip2m-841b", "codes=[All]");
    camera.control.sendMalformedEventPart();
    const bytes = await stream.waitUntil((b) => b.toString().includes("Garbage"), 5000, "malformed part");
    expect(bytes.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(bytes.toString()).toContain("Content-Length:x9\r\n");
  });

  it("the stall fault stops heartbeats without closing the connection", async () => {
    const { camera, stream } = await attach("amcrest-ip2m-841b");
    await stream.waitUntil((b) => b.toString().includes("Heartbeat"), 5000, "heartbeat");
    const suppressed = camera.control.suppressedEventWrites();
    camera.control.stallStreams(true);
    const held = (n: number) => () =>
      camera.control.suppressedEventWrites() >= suppressed + n ? true : undefined;
    // Once one heartbeat has been held back, anything written before the stall has arrived.
    await waitFor(held(1), 5000, "a held-back heartbeat");
    const length = stream.bytes().length;
    camera.control.trigger("VideoMotion", "Start");
    await waitFor(held(3), 5000, "held-back event and heartbeat");
    expect(stream.bytes().length).toBe(length);
    expect(stream.response.destroyed).toBe(false);
    camera.control.stallStreams(false);
    await stream.waitUntil((b) => b.length > length, 5000, "heartbeat after the stall");
  });
});
