/** RTSP messages and interleaved frames: any chunking, the tolerances cameras need, resync and bounds. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatRequest,
  formatResponse,
  interleavedHeader,
  parseCSeq,
  parseSession,
  parseTransport,
  RtspError,
  type RtspItem,
  RtspReader,
} from "../../src/protocol/rtsp.ts";
import { parseSdp, resolveControl, spropParameterSets } from "../../src/protocol/sdp.ts";

/** Feeds `bytes` to a reader in pieces cut at `cuts`. */
function read(bytes: Buffer, cuts: number[] = []): RtspItem[] {
  const reader = new RtspReader();
  const items: RtspItem[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b)) {
    items.push(...reader.push(bytes.subarray(at, cut)));
    at = cut;
  }
  items.push(...reader.push(bytes.subarray(at)));
  return items;
}

describe("RTSP reader", () => {
  it("reads messages and frames back whatever the chunking (property)", () => {
    const item = fc.oneof(
      fc.record({
        kind: fc.constant("request" as const),
        method: fc.constantFrom("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "GET_PARAMETER", "TEARDOWN"),
        cseq: fc.integer({ min: 1, max: 1_000_000 }),
        body: fc.uint8Array({ maxLength: 300 }),
      }),
      fc.record({
        kind: fc.constant("data" as const),
        channel: fc.integer({ min: 0, max: 3 }),
        payload: fc.uint8Array({ maxLength: 2000 }),
      }),
      fc.record({
        kind: fc.constant("response" as const),
        status: fc.constantFrom(200, 401, 403, 454),
        cseq: fc.integer({ min: 1, max: 99 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(item, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(30_000), { maxLength: 20 }),
        (items, cuts) => {
          const bytes = Buffer.concat(
            items.map((i) => {
              if (i.kind === "data")
                return Buffer.concat([
                  interleavedHeader(i.channel, i.payload.length),
                  Buffer.from(i.payload),
                ]);
              if (i.kind === "request")
                return formatRequest(
                  i.method,
                  "rtsp://127.0.0.1:8554/dogs",
                  [["CSeq", String(i.cseq)]],
                  Buffer.from(i.body),
                );
              return formatResponse(i.status, "Reason", [["CSeq", String(i.cseq)]]);
            }),
          );
          const out = read(bytes, cuts);
          expect(out).toHaveLength(items.length);
          out.forEach((got, n) => {
            const want = items[n];
            if (!want) throw new Error("missing");
            expect(got.kind).toBe(want.kind);
            if (got.kind === "data" && want.kind === "data") {
              expect([got.channel, Buffer.from(got.payload).equals(Buffer.from(want.payload))]).toEqual([
                want.channel,
                true,
              ]);
            } else if (got.kind === "request" && want.kind === "request") {
              expect([got.method, got.headers.get("cseq"), got.body.length]).toEqual([
                want.method,
                String(want.cseq),
                want.body.length,
              ]);
            } else if (got.kind === "response" && want.kind === "response") {
              expect([got.status, got.headers.get("CSEQ")]).toEqual([want.status, String(want.cseq)]);
            }
          });
        },
      ),
    );
  });

  it("takes bare newlines, continuation lines and any header case", () => {
    const text =
      'RTSP/1.0 200 OK\ncseq: 3\nWWW-Authenticate: Digest realm="x",\n  nonce="1"\nwww-authenticate: Basic realm="y"\nContent-Length: 2\n\nhi';
    const [response] = read(Buffer.from(text));
    expect(response?.kind).toBe("response");
    if (response?.kind !== "response") return;
    expect(response.headers.get("CSeq")).toBe("3");
    expect(response.headers.all("www-authenticate")).toEqual([
      'Digest realm="x", nonce="1"',
      'Basic realm="y"',
    ]);
    expect(response.body.toString()).toBe("hi");
  });

  it("skips bytes that start nothing until a message or a frame starts again", () => {
    const reader = new RtspReader();
    const bytes = Buffer.concat([
      Buffer.from("garbage\x00\x01\x02"),
      interleavedHeader(0, 3),
      Buffer.from([1, 2, 3]),
      Buffer.from("noise RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"),
    ]);
    const items = reader.push(bytes);
    expect(items.map((i) => i.kind)).toEqual(["data", "response"]);
    expect(reader.skipped).toBeGreaterThan(0);
  });

  it("refuses what exceeds its bounds, with a typed error", () => {
    expect(() =>
      new RtspReader({ maxHeaderBytes: 100 }).push(
        Buffer.from(`OPTIONS * RTSP/1.0\r\nX: ${"a".repeat(200)}`),
      ),
    ).toThrow(RtspError);
    expect(() =>
      new RtspReader({ maxBodyBytes: 10 }).push(
        Buffer.from("RTSP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n"),
      ),
    ).toThrow(/body/);
    expect(() => formatRequest("OPTIONS", "rtsp://x/a b", [])).toThrow(RtspError);
    expect(() => formatRequest("OPTIONS", "rtsp://x/", [["X", "a\r\nInjected: 1"]])).toThrow(/line break/);
  });

  it("never throws anything but RtspError on random bytes (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
        const reader = new RtspReader({ maxHeaderBytes: 512, maxBodyBytes: 512 });
        try {
          for (const chunk of chunks) reader.push(Buffer.from(chunk));
        } catch (error) {
          expect(error).toBeInstanceOf(RtspError);
        }
      }),
    );
  });

  it("refuses a message with a bare CR, a NUL or another control character in a line (issue 28)", () => {
    for (const bad of ["CSeq: 1\rX: y", "CSeq: 1\0", "X-Y: a\x01b", "CSeq: 1\x7f"]) {
      const bytes = Buffer.from(`OPTIONS * RTSP/1.0\r\n${bad}\r\n\r\n`, "latin1");
      expect(() => new RtspReader().push(bytes)).toThrow(RtspError);
    }
    // A tab is white space, not a control character, in a header value.
    const [ok] = new RtspReader().push(Buffer.from("OPTIONS * RTSP/1.0\r\nCSeq: 2\r\nX:\ta\r\n\r\n"));
    expect(ok?.kind === "request" && ok.headers.get("x")).toBe("a");
  });

  it("whatever a message holds, what it parses to can be written back without a throw (property)", () => {
    const line = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) });
    fc.assert(
      fc.property(line, line, (name, value) => {
        const bytes = Buffer.from(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n${name}: ${value}\r\n\r\n`, "latin1");
        let items: RtspItem[] = [];
        try {
          items = new RtspReader().push(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(RtspError);
          return;
        }
        for (const item of items)
          if (item.kind === "request")
            for (const header of [name.trim(), "cseq"]) {
              const echoed = item.headers.get(header);
              if (echoed !== undefined) formatResponse(200, "OK", [[header || "X", echoed]]);
            }
      }),
    );
  });

  it("takes a CSeq only as the number RFC 2326 says it is", () => {
    expect(parseCSeq("17")).toBe(17);
    expect(parseCSeq(undefined)).toBeUndefined();
    for (const bad of ["", "1 ", "-1", "1e3", "0x10", "1\rX: y", "9".repeat(15000)])
      expect(parseCSeq(bad)).toBeUndefined();
  });

  it("reads Transport and Session headers as Dahua and clients write them", () => {
    expect(parseTransport("RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=7CB694B4")).toMatchObject({
      protocol: "RTP/AVP/TCP",
      interleaved: [0, 1],
      ssrc: "7CB694B4",
      unicast: true,
    });
    expect(parseTransport("RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;interleaved=2-3")).toMatchObject(
      {
        protocol: "RTP/AVP",
        clientPort: [5000, 5001],
      },
    );
    expect(parseSession("1234ABCD;timeout=60")).toEqual({ id: "1234ABCD", timeoutSeconds: 60 });
    expect(parseSession("42")).toEqual({ id: "42", timeoutSeconds: 60 });
  });
});

describe("SDP", () => {
  /** The shape of a Dahua AD410's SDP (frigate#9085, as a go2rtc producer dump shows it). */
  const DAHUA = [
    "v=0",
    "o=- 2251938202 2251938202 IN IP4 0.0.0.0",
    "s=Media Server",
    "s=Media Server",
    "c=IN IP4 0.0.0.0",
    "t=0 0",
    "a=control:*",
    "a=packetization-supported:DH",
    "a=rtppayload-supported:DH",
    "a=range:npt=now-",
    "m=video 0 RTP/AVP 96",
    "a=control:trackID=0",
    "a=framerate:15.000000",
    "a=rtpmap:96 H264/90000",
    "a=fmtp:96 packetization-mode=1;profile-level-id=4D0032;sprop-parameter-sets=Z00AMukAUAHjQgAAAwACAAADAGSE,aOqPIAA=",
    "a=recvonly",
    "m=audio 0 RTP/AVP 8",
    "a=control:trackID=1",
    "a=rtpmap:8 PCMA/8000",
    "a=recvonly",
    "",
  ].join("\r\n");

  it("reads a Dahua SDP: fmtp as text, parameter sets, static audio, controls", () => {
    const sdp = parseSdp(DAHUA);
    expect(sdp.control).toBe("*");
    const [video, audio] = sdp.media;
    expect(video).toMatchObject({
      kind: "video",
      payloadType: 96,
      encoding: "H264",
      clockRate: 90000,
      control: "trackID=0",
    });
    expect(video?.fmtp.get("profile-level-id")).toBe("4D0032");
    expect(spropParameterSets(video as NonNullable<typeof video>).map((n) => n[0])).toEqual([0x67, 0x68]);
    expect(audio).toMatchObject({ kind: "audio", payloadType: 8, encoding: "PCMA", clockRate: 8000 });
    expect(resolveControl("rtsp://cam:554/cam/realmonitor?channel=1&subtype=0/", "trackID=1")).toBe(
      "rtsp://cam:554/cam/realmonitor?channel=1&subtype=0/trackID=1",
    );
    expect(resolveControl("rtsp://cam/x", "rtsp://other/y")).toBe("rtsp://other/y");
  });

  it("refuses an SDP without media", () => {
    expect(() => parseSdp("v=0\r\ns=nothing\r\n")).toThrow(/no media/);
  });
});
