/**
 * storageDevice.cgi getDeviceAllInfo read into one health summary (issue 27): the answer the reference
 * records from a real camera, the NVR and failing-disk shapes published Dahua monitors test against, no
 * card, and any text at all without a throw.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseStorageInfo } from "../../src/protocol/storage-info.ts";

describe("parseStorageInfo", () => {
  it("reads a camera's card (reference §2.11: sizes as floats, /dev/mmc0, State=Success)", () => {
    const info = parseStorageInfo(
      [
        "list.info[0].Detail[0].IsError=false",
        "list.info[0].Detail[0].Path=/mnt/sd",
        "list.info[0].Detail[0].TotalBytes=997703680.000000",
        "list.info[0].Detail[0].Type=ReadWrite",
        "list.info[0].Detail[0].UsedBytes=498851840.000000",
        "list.info[0].Name=/dev/mmc0",
        "list.info[0].State=Success",
        "",
      ].join("\r\n"),
    );
    expect(info).toEqual({
      state: "ok",
      totalBytes: 997_703_680,
      usedBytes: 498_851_840,
      devices: [
        {
          name: "/dev/mmc0",
          cameraState: "Success",
          error: false,
          totalBytes: 997_703_680,
          usedBytes: 498_851_840,
        },
      ],
    });
  });

  it("sums an NVR's partitions, one of them without sizes, and says a failing disk", () => {
    const info = parseStorageInfo(
      [
        "list.info[0].Detail[0].IsError=false",
        "list.info[0].Detail[0].Path=/dev/sda0",
        "list.info[0].Detail[0].TotalBytes=495636709376.000000",
        "list.info[0].Detail[1].IsError=false",
        "list.info[0].Detail[1].Path=/dev/sda1",
        "list.info[0].Name=/dev/sda",
        "list.info[0].State=Success",
        "list.info[1].Name=/dev/sdb",
        "list.info[1].State=Failure",
        "list.info[1].Detail[0].IsError=true",
      ].join("\n"),
    );
    expect(info.state).toBe("error");
    expect(info.totalBytes).toBe(495_636_709_376);
    expect(info.devices.map((device) => [device.name, device.error])).toEqual([
      ["/dev/sda", false],
      ["/dev/sdb", true],
    ]);
  });

  it("takes an empty answer for no card", () => {
    expect(parseStorageInfo("")).toEqual({ state: "missing", totalBytes: 0, usedBytes: 0, devices: [] });
  });

  it("never throws and keeps sizes whole, used within total", () => {
    const line = fc.tuple(
      fc.constantFrom("list.info[0].", "list.info[3].Detail[1].", "list.info[x].", "list.", ""),
      fc.constantFrom("TotalBytes", "UsedBytes", "IsError", "State", "Name", "Detail"),
      fc.oneof(fc.string(), fc.double().map(String), fc.constantFrom("true", "false", "1e400", "-5")),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), fc.string(), (lines, noise) => {
        const text = `${lines.map(([a, b, c]) => `${a}${b}=${c}`).join("\r\n")}\r\n${noise}`;
        const info = parseStorageInfo(text);
        expect(Number.isSafeInteger(info.totalBytes)).toBe(true);
        expect(Number.isSafeInteger(info.usedBytes)).toBe(true);
        expect(info.usedBytes).toBeGreaterThanOrEqual(0);
        if (info.totalBytes > 0) expect(info.usedBytes).toBeLessThanOrEqual(info.totalBytes);
        expect(info.devices.length).toBeLessThanOrEqual(16);
      }),
      { numRuns: 400 },
    );
  });
});
