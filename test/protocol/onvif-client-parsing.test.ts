/**
 * What camgate's ONVIF client reads from devices: notification messages (any topic prefix, states as
 * true/false/1/0, Initialized vs Changed, bounded), faults (SOAP 1.2 with nested subcodes, SOAP 1.1),
 * GetSystemDateAndTime (UTC, or only local time as some firmware sends), profiles and addresses.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pathOf, profilesOf } from "../../src/camera/onvif/onvif-camera.ts";
import { deviceTime } from "../../src/camera/onvif/onvif-client.ts";
import { MAX_NOTIFICATIONS, stateChangesOf, topicPath } from "../../src/protocol/onvif-notification.ts";
import { parseSoapResponse } from "../../src/protocol/soap.ts";

const wrap = (body: string, prefix = "s") =>
  `<${prefix}:Envelope xmlns:${prefix}="http://www.w3.org/2003/05/soap-envelope"><${prefix}:Body>${body}</${prefix}:Body></${prefix}:Envelope>`;

function notification(
  topic: string,
  item: string,
  value: string,
  operation: string,
  source = "VideoSource_1",
) {
  return `<wsnt:NotificationMessage xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:tt="http://www.onvif.org/ver10/schema"><wsnt:Topic Dialect="x">${topic}</wsnt:Topic><wsnt:Message><tt:Message UtcTime="2026-12-02T10:00:00Z" PropertyOperation="${operation}"><tt:Source><tt:SimpleItem Name="Source" Value="${source}"/></tt:Source><tt:Data><tt:SimpleItem Name="${item}" Value="${value}"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`;
}

const pull = (messages: string) =>
  parseSoapResponse(
    wrap(
      `<tev:PullMessagesResponse xmlns:tev="http://www.onvif.org/ver10/events/wsdl">${messages}</tev:PullMessagesResponse>`,
    ),
  ).body;

describe("ONVIF notifications", () => {
  it("reads a state topic whatever prefix and boolean spelling the sender chose", () => {
    const topics = [
      ["VideoSource/MotionAlarm", "State", "VideoMotion"],
      ["RuleEngine/CellMotionDetector/Motion", "IsMotion", "VideoMotion"],
      ["VideoSource/GlobalSceneChange/ImagingService", "State", "VideoBlind"],
      ["VideoSource/SignalLoss", "State", "VideoLoss"],
      ["Device/Trigger/DigitalInput", "LogicalState", "AlarmLocal"],
    ] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...topics),
        fc.constantFrom("tns1:", "tns:", "", "ns7:"),
        fc.constantFrom("true", "false", "1", "0", "TRUE"),
        fc.constantFrom("Initialized", "Changed"),
        fc.integer({ min: 1, max: 16 }),
        ([path, item, code], prefix, value, operation, channel) => {
          const topic = path
            .split("/")
            .map((step) => `${prefix}${step}`)
            .join("/");
          const [change] = stateChangesOf(
            pull(notification(topic, item, value, operation, `VideoSource_${channel}`)),
          );
          expect(change).toMatchObject({
            code,
            active: value.toLowerCase() === "true" || value === "1",
            initialized: operation === "Initialized",
            index: channel - 1,
          });
        },
      ),
    );
  });

  it("skips topics camgate has no code for, and values that are not states", () => {
    const body = pull(
      notification("tns1:Monitoring/ProcessorUsage", "Value", "40", "Changed") +
        notification("tns1:VideoSource/MotionAlarm", "State", "maybe", "Changed") +
        notification("tns1:VideoSource/MotionAlarm", "Other", "true", "Changed"),
    );
    expect(stateChangesOf(body)).toEqual([]);
  });

  it("reads at most MAX_NOTIFICATIONS messages of one answer", () => {
    const many = Array.from({ length: MAX_NOTIFICATIONS + 20 }, () =>
      notification("tns1:VideoSource/MotionAlarm", "State", "true", "Changed"),
    ).join("");
    expect(stateChangesOf(pull(many))).toHaveLength(MAX_NOTIFICATIONS);
  });

  it("drops every step's prefix from a topic", () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Za-z]{1,8}$/), { minLength: 1, maxLength: 5 }), (steps) => {
        expect(topicPath(steps.map((step) => `p:${step}`).join("/"))).toBe(steps.join("/"));
      }),
    );
  });
});

describe("ONVIF answers", () => {
  it("takes the innermost subcode of a SOAP 1.2 fault, and reads SOAP 1.1 faults", () => {
    const nested = parseSoapResponse(
      wrap(
        '<env:Fault xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:ter="http://www.onvif.org/ver10/error"><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:InvalidArgVal</env:Value><env:Subcode><env:Value>ter:NoProfile</env:Value></env:Subcode></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">no such profile</env:Text></env:Reason></env:Fault>',
        "env",
      ),
    );
    expect(nested.fault).toEqual({ code: "Sender", subcode: "NoProfile", reason: "no such profile" });
    const old = parseSoapResponse(
      wrap(
        '<SOAP-ENV:Fault xmlns:SOAP-ENV="x"><faultcode>SOAP-ENV:Client</faultcode><faultstring>bad</faultstring></SOAP-ENV:Fault>',
      ),
    );
    expect(old.fault).toEqual({ code: "Client", subcode: "Client", reason: "bad" });
    expect(parseSoapResponse(wrap('<tds:GetScopesResponse xmlns:tds="x"/>')).fault).toBeUndefined();
  });

  it("reads the device's UTC time, or its local time when that is all it sends", () => {
    const time = (tag: string) =>
      `<tt:${tag}><tt:Time><tt:Hour>13</tt:Hour><tt:Minute>7</tt:Minute><tt:Second>9</tt:Second></tt:Time><tt:Date><tt:Year>2026</tt:Year><tt:Month>12</tt:Month><tt:Day>2</tt:Day></tt:Date></tt:${tag}>`;
    const answer = (inner: string) =>
      parseSoapResponse(
        wrap(
          `<tds:GetSystemDateAndTimeResponse xmlns:tds="x" xmlns:tt="y"><tds:SystemDateAndTime>${inner}</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`,
        ),
      ).body;
    expect(deviceTime(answer(time("UTCDateTime")))).toBe(Date.UTC(2026, 11, 2, 13, 7, 9));
    expect(deviceTime(answer(`<tt:UTCDateTime/>${time("LocalDateTime")}`))).toBe(
      Date.UTC(2026, 11, 2, 13, 7, 9),
    );
    expect(deviceTime(answer("<tt:DateTimeType>NTP</tt:DateTimeType>"))).toBeUndefined();
  });

  it("keeps only the path of an address a device gives (never its host)", () => {
    expect(pathOf("http://10.1.2.3:8000/onvif/Subscription?Idx=4")).toBe("/onvif/Subscription?Idx=4");
    expect(pathOf(" http://a/onvif/media_service http://b/x ")).toBe("/onvif/media_service");
    expect(pathOf("not a url")).toBeUndefined();
    expect(pathOf(undefined)).toBeUndefined();
  });

  it("reads profiles with their encoder and PTZ configuration, skipping ones without a token", () => {
    const body = parseSoapResponse(
      wrap(
        '<trt:GetProfilesResponse xmlns:trt="x" xmlns:tt="y"><trt:Profiles token="p0"><tt:Name>Main</tt:Name><tt:VideoEncoderConfiguration><tt:Encoding>H265</tt:Encoding><tt:Resolution><tt:Width>2560</tt:Width><tt:Height>1440</tt:Height></tt:Resolution><tt:RateControl><tt:FrameRateLimit>20</tt:FrameRateLimit><tt:BitrateLimit>4096</tt:BitrateLimit></tt:RateControl></tt:VideoEncoderConfiguration><tt:PTZConfiguration token="ptz0"/></trt:Profiles><trt:Profiles><tt:Name>NoToken</tt:Name></trt:Profiles></trt:GetProfilesResponse>',
      ),
    ).body;
    expect(profilesOf(body)).toEqual([
      {
        token: "p0",
        name: "Main",
        encoding: "H265",
        width: 2560,
        height: 1440,
        fps: 20,
        bitrateKbps: 4096,
        ptz: "ptz0",
      },
    ]);
  });
});
