/**
 * Discovery's messages: the DHIP probe byte for byte as Dahua devices answer it, real devices' answers read
 * (test/fixtures/real-world/dhdiscover-answers.json), WS-Discovery's Probe and ProbeMatches both ways, and
 * anything else on those ports read as nothing, never an exception.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { broadcastOf } from "../../src/camera/discovery.ts";
import {
  dhipMessage,
  dhipSearchProbe,
  isDhipSearch,
  parseDhipDevice,
  readDhip,
} from "../../src/protocol/dhip.ts";
import {
  parseProbe,
  parseProbeMatches,
  probeMatches,
  probeMessage,
} from "../../src/protocol/ws-discovery.ts";

interface Answer {
  source: string;
  message: unknown;
  expect: Record<string, unknown>;
}

const answers = JSON.parse(
  readFileSync(join(import.meta.dirname, "../fixtures/real-world/dhdiscover-answers.json"), "utf8"),
) as Answer[];

describe("DHDiscover", () => {
  it("sends the probe as the devices answer it: 32-byte header, DHIP, both lengths, then the JSON", () => {
    const probe = dhipSearchProbe();
    expect(probe.readUInt32LE(0)).toBe(32);
    expect(probe.subarray(4, 8).toString("latin1")).toBe("DHIP");
    expect(probe.subarray(8, 16)).toEqual(Buffer.alloc(8));
    const body = probe.subarray(32);
    expect(probe.readBigUInt64LE(16)).toBe(BigInt(body.length));
    expect(probe.readBigUInt64LE(24)).toBe(BigInt(body.length));
    expect(JSON.parse(body.toString())).toEqual({ method: "DHDiscover.search", params: { mac: "", uni: 1 } });
    expect(isDhipSearch(probe)).toBe(true);
  });

  it.each(answers)("reads a real device's answer: $device", (answer) => {
    const expected = Object.fromEntries(
      Object.entries(answer.expect).map(([key, value]) => [key, value === null ? undefined : value]),
    );
    expect(parseDhipDevice(dhipMessage(answer.message))).toEqual(expected);
    // The JSON is found, not sliced at 32: some firmware's header is longer (rroller/dahua).
    const longer = Buffer.concat([
      dhipMessage(answer.message).subarray(0, 32),
      Buffer.alloc(8),
      dhipMessage(answer.message).subarray(32),
    ]);
    expect(parseDhipDevice(longer)?.serial).toBe(answer.expect.serial);
  });

  it("reads anything else on the port as nothing, never an exception", () => {
    expect(parseDhipDevice(Buffer.from('{"params":{"deviceInfo":{"SerialNo":"X"}}}'))).toBeUndefined();
    expect(parseDhipDevice(dhipMessage({ params: { deviceInfo: { Vendor: "General" } } }))).toBeUndefined();
    expect(parseDhipDevice(dhipMessage(["not", "an", "object"]))).toBeUndefined();
    expect(
      parseDhipDevice(
        dhipMessage({ mac: "not a mac", params: { deviceInfo: { SerialNo: "S", HttpPort: 99999 } } }),
      ),
    ).toEqual(expect.objectContaining({ serial: "S", mac: undefined, httpPort: undefined }));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, framed) => {
        const datagram = framed
          ? Buffer.concat([dhipMessage({}).subarray(0, 32), Buffer.from(bytes)])
          : Buffer.from(bytes);
        const device = parseDhipDevice(datagram);
        if (device) expect(device.serial ?? device.model).toBeDefined();
        readDhip(datagram);
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const device = parseDhipDevice(dhipMessage({ params: { deviceInfo: value } }));
        if (device) expect(typeof (device.serial ?? device.model)).toBe("string");
      }),
    );
  });
});

describe("WS-Discovery, the prober's side", () => {
  const device = {
    endpoint: "urn:uuid:0c5a1f6e-1d2b-5c3d-a4e5-0123456789ab",
    scopes: ["onvif://www.onvif.org/hardware/IPC-HDW2849H-S-IL", "onvif://www.onvif.org/name/Front%20door"],
    xaddr: "http://10.0.0.7:80/onvif/device_service",
  };

  it("sends a Probe a device reads as one for video devices, and reads the device's answer to it", () => {
    const probe = parseProbe(probeMessage("urn:uuid:ours"));
    expect(probe).toEqual({ messageId: "urn:uuid:ours", types: ["NetworkVideoTransmitter"] });
    const answer = probeMatches(probe as NonNullable<typeof probe>, device, "urn:uuid:theirs", {
      instanceId: 1,
      messageNumber: 1,
    });
    expect(parseProbeMatches(answer, "urn:uuid:ours")).toEqual([
      {
        endpoint: device.endpoint,
        xaddrs: [device.xaddr],
        scopes: device.scopes,
        name: "Front door",
        hardware: "IPC-HDW2849H-S-IL",
      },
    ]);
    // An answer to another prober's probe is not ours.
    expect(parseProbeMatches(answer, "urn:uuid:someone-else")).toEqual([]);
  });

  it("reads anything else as no match, never an exception", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500 }), (text) => {
        expect(Array.isArray(parseProbeMatches(text, "x"))).toBe(true);
      }),
    );
    expect(parseProbeMatches("<!DOCTYPE x><x/>", "x")).toEqual([]);
  });
});

describe("directed broadcast", () => {
  it("is the link's address with the host bits set", () => {
    expect(broadcastOf("10.213.7.2", "255.255.255.0")).toBe("10.213.7.255");
    expect(broadcastOf("192.168.1.77", "255.255.254.0")).toBe("192.168.1.255");
    expect(broadcastOf("x", "255.255.255.0")).toBeUndefined();
  });
});
