import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventBodyError, parseEventBody } from "../../src/protocol/event-body.ts";

describe("event bodies", () => {
  it("reads the 2016 Amcrest body without data", () => {
    expect(parseEventBody("Code=VideoMotion;action=Start;index=0")).toEqual({
      kind: "event",
      code: "VideoMotion",
      action: "Start",
      index: 0,
      data: undefined,
      fields: {},
    });
  });

  it("reads 3-space (2019) and tab (2023) JSON data", () => {
    const old = parseEventBody(
      'Code=TimeChange;action=Pulse;index=0;data={\n   "BeforeModifyTime" : "2019-02-20 13:49:58",\n   "ModifiedTime" : "2019-02-20 13:49:58"\n}\n',
    );
    expect(old).toMatchObject({
      code: "TimeChange",
      action: "Pulse",
      data: { ModifiedTime: "2019-02-20 13:49:58" },
    });
    const modern = parseEventBody(
      'Code=VideoMotion;action=Start;index=0;data={\n\t"LocaleTime":\t"2023-08-11 21:37:30",\n\t"UTC":\t1691815050,\n\t"SmartMotionEnable":\ttrue\n}',
    );
    expect(modern).toMatchObject({
      data: { LocaleTime: "2023-08-11 21:37:30", UTC: 1691815050, SmartMotionEnable: true },
    });
  });

  it("reads data=null, non-JSON data, and '=' inside data (rroller#477)", () => {
    expect(parseEventBody("Code=AudioMutation;action=Stop;index=0;data=null")).toMatchObject({ data: null });
    expect(parseEventBody("Code=X;action=Pulse;index=2;data=a=b;c=d")).toMatchObject({
      index: 2,
      data: "a=b;c=d",
    });
  });

  it("reads the NVR channel index and keeps unknown codes, actions and fields", () => {
    expect(parseEventBody("Code=_DoTalkAction_;action=Invite;index=7;extra=x=y")).toMatchObject({
      code: "_DoTalkAction_",
      action: "Invite",
      index: 7,
      fields: { extra: "x=y" },
    });
  });

  it("knows the heartbeat", () => {
    expect(parseEventBody("Heartbeat")).toEqual({ kind: "heartbeat" });
  });

  it("refuses bodies that are not events with its own error", () => {
    expect(() => parseEventBody("Code=Garbage;act")).toThrow(EventBodyError);
    expect(() => parseEventBody("HTTP/1.1 200 OK")).toThrow(EventBodyError);
    expect(() => parseEventBody("Code=X;action=Start;index=-1")).toThrow(EventBodyError);
  });

  it("property: any text parses or throws EventBodyError, nothing else", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (body) => {
        try {
          parseEventBody(body);
        } catch (error) {
          expect(error).toBeInstanceOf(EventBodyError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("property: formatted events parse back", () => {
    const token = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/);
    fc.assert(
      fc.property(
        token,
        fc.constantFrom("Start", "Stop", "Pulse", "State"),
        fc.nat(64),
        fc.jsonValue(),
        (code, action, index, data) => {
          const body = `Code=${code};action=${action};index=${index};data=${JSON.stringify(data, null, 3)}\n`;
          const parsed = parseEventBody(body);
          expect(parsed).toMatchObject({ kind: "event", code, action, index });
          if (parsed.kind === "event") expect(parsed.data).toEqual(JSON.parse(JSON.stringify(data)));
        },
      ),
    );
  });
});
