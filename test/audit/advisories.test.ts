/**
 * The firmware strings cameras print, read as Dahua numbers its builds, and the advisories matched against
 * them. The strings come from public captures: python-amcrest's tests and jantman's 2018 IP2M-841B capture
 * (2.520.AC00.18.R,build:2017-06-29), the Tenable advisories' version lists (TRA-2020-20, TRA-2019-36),
 * and the reference's Dahua examples (V2.800.0000016.0.R,build:2020-06-05).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ADVISORIES } from "../../src/audit/advisories.ts";
import { type DeviceIdentity, matchAdvisories } from "../../src/audit/advisory-match.ts";
import { parseFirmware } from "../../src/audit/firmware.ts";

const device = (
  model: string,
  platformName: string | undefined,
  vendor: string | undefined,
  version: string,
) => ({
  model,
  platformName,
  vendor,
  firmware: parseFirmware(version),
});
const statusOf = (d: DeviceIdentity, id: string) => matchAdvisories(d).find((v) => v.id === id)?.status;

describe("the firmware string", () => {
  it.each([
    ["2.520.AC00.18.R,build:2017-06-29", "2.520", "AC", "2017-06-29"],
    ["V2.800.0000016.0.R,build:2020-06-05", "2.800", undefined, "2020-06-05"],
    ["2.623.00AC004.0.R.200316", "2.623", "AC", "2020-03-16"],
    ["4.000.0000000.3.R,build:2020-05-21", "4.000", undefined, "2020-05-21"],
    ["2.420.AC00.15.R build:2016-03-08", "2.420", "AC", "2016-03-08"],
    ["2.400.AC02.15.R,build:2017-07-31", "2.400", "AC", "2017-07-31"],
  ])("%s: platform %s, OEM %s, built %s", (text, platform, oem, build) => {
    const firmware = parseFirmware(text);
    expect(firmware.platform).toBe(platform);
    expect(firmware.oem).toBe(oem);
    expect(firmware.buildDate).toBe(build);
  });

  it("a build date that is not a date is unknown, never a guess", () => {
    expect(parseFirmware("2.520.AC00.18.R,build:2017-13-40").buildDate).toBeUndefined();
    expect(parseFirmware("garbage").buildDate).toBeUndefined();
    expect(parseFirmware("").platform).toBeUndefined();
  });

  it("whatever a camera prints, the reading never throws and a build date is a real YYYY-MM-DD", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.option(fc.string({ maxLength: 20 })), (text, build) => {
        const firmware = parseFirmware(text, build ?? undefined);
        if (firmware.buildDate !== undefined) {
          expect(firmware.buildDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
          expect(Number.isNaN(Date.parse(firmware.buildDate))).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the advisories", () => {
  it("every advisory has a source and rules whose dates are dates and whose patterns compile", () => {
    for (const advisory of ADVISORIES) {
      expect(advisory.sources.length).toBeGreaterThan(0);
      for (const rule of advisory.rules) {
        if (rule.kind === "build-window") {
          expect(rule.before).toMatch(/^\d{4}-\d{2}-\d{2}$/);
          for (const family of rule.families) expect(() => new RegExp(`^${family}`)).not.toThrow();
        } else for (const fix of rule.fixed) expect(fix.build).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      }
    }
  });

  it("CVE-2021-33044 (KEV): an IPC-HDW5xxx built before June 2021 is affected, after it fixed", () => {
    const old = device("IPC-HDW5831R-ZE", "IPC-HDW5830R-Z", "Dahua", "2.800.0000016.0.R,build:2020-06-05");
    expect(statusOf(old, "CVE-2021-33044")).toBe("affected");
    const verdict = matchAdvisories(old).find((v) => v.id === "CVE-2021-33044");
    expect(verdict?.kev).toBe(true);
    expect(verdict?.evidence).toContain("2020-06-05");
    const fixed = device("IPC-HDW5831R-ZE", "IPC-HDW5830R-Z", "Dahua", "3.142.0000000.2.R,build:2024-03-20");
    expect(statusOf(fixed, "CVE-2021-33044")).toBe("fixed");
  });

  it("the family is matched on the platform name an Amcrest model reports, with DH- prefixes ignored", () => {
    const amcrest = device(
      "IP4M-1041B",
      "DH-IPC-HDW3449H-AS",
      "Amcrest",
      "2.800.00AC000.0.R,build:2020-01-10",
    );
    expect(statusOf(amcrest, "CVE-2021-33044")).toBe("affected");
  });

  it("a model outside every family gets no verdict at all", () => {
    const doorbell = device("AD410", "DB61i", "Amcrest", "1.000.0000000.6.R,build:2021-09-15");
    expect(statusOf(doorbell, "CVE-2021-33044")).toBeUndefined();
  });

  it("a family match without a build date is unknown", () => {
    const noBuild = {
      ...device("IPC-HFW5241E", undefined, "Dahua", "2.800.0000016.0.R"),
      firmware: undefined,
    };
    expect(statusOf(noBuild, "CVE-2021-33044")).toBe("unknown");
  });

  it("a build before an advisory's window is not affected", () => {
    const legacy = device("IPC-HFW4300S-V2", "IPC-HFW4300S", undefined, "2.420.0001.0.R,build:2014-08-20");
    expect(statusOf(legacy, "CVE-2017-9315")).toBe("not-affected");
  });

  it("CVE-2020-5735: Amcrest builds compared on their own platform line; a line the advisory does not list is unknown", () => {
    const before = device("IP2M-841B", "IPC-HDW4200S-A", "Amcrest", "2.420.AC00.17.R,build:2019-05-10");
    expect(statusOf(before, "CVE-2020-5735")).toBe("affected");
    const after = device("IP2M-841B", "IPC-HDW4200S-A", "Amcrest", "2.420.AC00.18.R,build:2020-02-17");
    expect(statusOf(after, "CVE-2020-5735")).toBe("fixed");
    const otherLine = device("IP2M-841B", "IPC-HDW4200S-A", "Amcrest", "2.520.AC00.18.R,build:2017-06-29");
    expect(statusOf(otherLine, "CVE-2020-5735")).toBe("unknown");
    // Dahua's own camera: not the advisory's vendor.
    const dahua = device("IPC-HDW5831R-ZE", "IPC-HDW5830R-Z", "Dahua", "2.420.0001.0.R,build:2014-08-20");
    expect(statusOf(dahua, "CVE-2020-5735")).toBeUndefined();
  });

  it("CVE-2019-3948: the IP2M-841 firmware of Tenable's advisory (V2.520.AC00.18.R, 2017) is affected", () => {
    const ip2m = device("IP2M-841B", "IPC-HDW4200S-A", "Amcrest", "2.520.AC00.18.R,build:2017-06-29");
    expect(statusOf(ip2m, "CVE-2019-3948")).toBe("affected");
    const later = device("IP2M-841B", "IPC-HDW4200S-A", "Amcrest", "2.520.AC00.18.R,build:2019-08-01");
    expect(statusOf(later, "CVE-2019-3948")).toBe("fixed");
  });
});
