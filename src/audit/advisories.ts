/**
 * Published vulnerabilities of Dahua and Amcrest firmware, as data: which builds each one affects, in the
 * words of its record, and where that is written. camgate never probes for a vulnerability; it compares what
 * the camera says it runs (model, platform, build date) with these rules (`advisory-match.ts`).
 *
 * How the rules read the records:
 * - Dahua describes affected products by family ("IPC-HX3XXX": IPC-H, a form factor such as DW, FW or DBW,
 *   then the series digit) and "Buildtime before <month year>": a build before the first of that month is
 *   affected. A window ("build 2017-07 ... 2021-07") affects builds from the first of the first month to the
 *   end of the last.
 * - Families are matched against both the model the camera reports (`getDeviceType`) and its platform name
 *   (`getSystemInfo`'s `updateSerial`): an Amcrest IP4M-1041B reports the Dahua platform IPC-AW46WN-S2 there.
 *   A `DH-`/`DHI-` prefix is ignored.
 * - Amcrest advisories name fixed versions per platform line; a camera on a line the advisory does not list is
 *   "unknown", never guessed.
 *
 * Update this file with each release; every entry keeps its sources.
 */

export type AdvisorySeverity = "critical" | "high" | "medium";

/** Affected when the family matches and `from <= build < before`. */
export interface BuildWindowRule {
  kind: "build-window";
  /** Regular expressions over the model and the platform name, anchored at the start. */
  families: readonly string[];
  /** YYYY-MM-DD, inclusive; absent: every earlier build. */
  from?: string;
  /** YYYY-MM-DD, exclusive. */
  before: string;
}

/** Affected when the camera is on a listed platform line (and OEM) with a build before that line's fix. */
export interface FixedBuildsRule {
  kind: "fixed-builds";
  /** The vendor the advisory is about (`getVendor`, case-insensitive). */
  vendor: string;
  /** Regular expressions over the model; absent: every model of the vendor. */
  models?: readonly string[];
  fixed: readonly {
    platform: string;
    /** The OEM letters of the build (`AC`), or null for a build without them. */
    oem: string | null;
    /** The fixed build's date, YYYY-MM-DD. */
    build: string;
    /** The fixed version as the advisory prints it. */
    version: string;
  }[];
}

export type AdvisoryRule = BuildWindowRule | FixedBuildsRule;

export interface Advisory {
  id: string;
  /** What it allows, in one line, without exploit detail. */
  title: string;
  severity: AdvisorySeverity;
  /** In CISA's Known Exploited Vulnerabilities catalogue. */
  kev: boolean;
  rules: readonly AdvisoryRule[];
  /** Records and advisories the rules are taken from. */
  sources: readonly string[];
}

const nvd = (id: string) => `https://nvd.nist.gov/vuln/detail/${id}`;
const KEV = "https://www.cisa.gov/known-exploited-vulnerabilities-catalog";

const IPC_HX3 = "IPC-H[A-Z]{1,3}3";
const IPC_HX5 = "IPC-H[A-Z]{1,3}5";

export const ADVISORIES: readonly Advisory[] = [
  {
    id: "CVE-2021-33044",
    title: "the web login can be bypassed without the password (RPC2 login)",
    severity: "critical",
    kev: true,
    rules: [
      {
        kind: "build-window",
        families: [
          IPC_HX3,
          IPC_HX5,
          "IPC-HUM7",
          "VTO75\\d95\\d",
          "VTO65",
          "VTH542\\dH",
          "SD1A1",
          "SD22",
          "SD49",
          "SD50",
          "SD52C",
          "SD6AL",
        ],
        before: "2021-06-01",
      },
    ],
    sources: [nvd("CVE-2021-33044"), KEV],
  },
  {
    id: "CVE-2021-33045",
    title: "a second, independent bypass of the login",
    severity: "critical",
    kev: true,
    rules: [
      { kind: "build-window", families: [IPC_HX3, IPC_HX5, "IPC-HUM7"], before: "2020-05-01" },
      { kind: "build-window", families: ["NVR[1256]\\d", "XVR[457]"], before: "2019-12-01" },
    ],
    sources: [nvd("CVE-2021-33045"), KEV],
  },
  {
    id: "CVE-2021-33046",
    title: "the password reset can be reached without the right access",
    severity: "high",
    kev: false,
    rules: [
      {
        kind: "build-window",
        families: [IPC_HX3, IPC_HX5, "SD\\d", "TPC-", "VTO2101E", "VTO\\d221E", "ASC2204C"],
        from: "2017-07-01",
        before: "2021-08-01",
      },
      {
        kind: "build-window",
        families: ["NVR[45]\\d", "XVR[45]", "HCVR[78]"],
        from: "2017-01-01",
        before: "2021-08-01",
      },
    ],
    sources: [nvd("CVE-2021-33046")],
  },
  {
    id: "CVE-2020-9502",
    title: "session ids can be predicted",
    severity: "high",
    kev: false,
    rules: [
      {
        kind: "build-window",
        families: ["IPC-H[A-Z]{1,3}2", "IPC-H[A-Z0-9]{3}5[A-Z0-9]4", "NVR[45]", "SD\\d"],
        before: "2019-12-01",
      },
    ],
    sources: [nvd("CVE-2020-9502")],
  },
  {
    id: "CVE-2024-39950",
    title: "crafted packets can make the device re-initialise",
    severity: "high",
    kev: false,
    rules: [{ kind: "build-window", families: ["NVR4\\d", "IPC-H[A-Z]{1,3}8"], before: "2024-01-22" }],
    sources: [nvd("CVE-2024-39950")],
  },
  {
    id: "CVE-2017-9315",
    title: "the admin password recovery can be computed",
    severity: "high",
    kev: false,
    rules: [
      {
        kind: "build-window",
        families: ["IPC-H(FW|DW|DBW)[12458]", "SD\\d"],
        from: "2015-07-01",
        before: "2017-04-01",
      },
    ],
    sources: [nvd("CVE-2017-9315")],
  },
  {
    id: "CVE-2020-5735",
    title: "an authenticated request on TCP 37777 can overflow a buffer (code execution)",
    severity: "high",
    kev: false,
    rules: [
      {
        kind: "fixed-builds",
        vendor: "Amcrest",
        fixed: [
          { platform: "2.623", oem: "AC", build: "2020-03-16", version: "2.623.00AC004.0.R.200316" },
          { platform: "2.420", oem: "AC", build: "2020-02-17", version: "2.420.AC00.18.R.20200217" },
          { platform: "2.800", oem: "AC", build: "2020-03-30", version: "2.800.00AC000.0.R.200330" },
          { platform: "2.800", oem: null, build: "2020-03-14", version: "2.800.0000000.6.R.200314" },
          { platform: "2.622", oem: "AC", build: "2020-03-20", version: "2.622.00AC000.0.R.200320" },
          { platform: "4.000", oem: "AC", build: "2020-02-18", version: "4.000.00AC000.0.R.200218" },
        ],
      },
    ],
    sources: [nvd("CVE-2020-5735"), "https://www.tenable.com/security/research/tra-2020-20"],
  },
  {
    id: "CVE-2019-3948",
    title: "the camera's audio can be streamed without credentials",
    severity: "high",
    kev: false,
    rules: [
      {
        kind: "fixed-builds",
        vendor: "Amcrest",
        models: ["IP2M-841"],
        // Affected: V2.520.AC00.18.R (Tenable); fixed in the firmware of Amcrest's 2019-07-29 changelog.
        fixed: [
          { platform: "2.520", oem: "AC", build: "2019-07-29", version: "a build after 2.520.AC00.18.R" },
        ],
      },
    ],
    sources: [nvd("CVE-2019-3948"), "https://www.tenable.com/security/research/tra-2019-36"],
  },
];
