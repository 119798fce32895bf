/**
 * Which published advisories apply to a camera, from what it says it runs. A verdict is "affected",
 * "fixed" (built after the fix), "not-affected" (built before the affected window) or "unknown" (the record
 * applies to this model but camgate cannot tell the build), each with the evidence; an advisory whose
 * products do not include the camera is left out. Never a guess, never a probe. Pure.
 */
import { ADVISORIES, type Advisory, type AdvisoryRule, type AdvisorySeverity } from "./advisories.ts";
import type { Firmware } from "./firmware.ts";

export type AdvisoryStatus = "affected" | "fixed" | "not-affected" | "unknown";

export interface AdvisoryVerdict {
  id: string;
  title: string;
  severity: AdvisorySeverity;
  kev: boolean;
  status: AdvisoryStatus;
  /** What the verdict rests on: the model or platform matched, the build, the rule's dates. */
  evidence: string;
  sources: readonly string[];
}

export interface DeviceIdentity {
  /** `getDeviceType` (the model as sold: IP2M-841B, IPC-HDW5831R-ZE). */
  model: string | undefined;
  /** `getSystemInfo`'s `updateSerial`: the Dahua platform, also on Amcrest models. */
  platformName: string | undefined;
  vendor: string | undefined;
  firmware: Firmware | undefined;
}

type RuleVerdict = { status: AdvisoryStatus; evidence: string } | undefined;

const withoutPrefix = (name: string) =>
  name
    .trim()
    .toUpperCase()
    .replace(/^DHI?-/, "");

function matchingName(patterns: readonly string[], names: (string | undefined)[]): string | undefined {
  for (const name of names) {
    if (!name) continue;
    const plain = withoutPrefix(name);
    if (patterns.some((pattern) => new RegExp(`^${pattern}`).test(plain))) return name;
  }
  return undefined;
}

function judgeRule(rule: AdvisoryRule, device: DeviceIdentity): RuleVerdict {
  const build = device.firmware?.buildDate;
  if (rule.kind === "build-window") {
    const name = matchingName(rule.families, [device.model, device.platformName]);
    if (!name) return undefined;
    const window = `${rule.from ? `from ${rule.from} ` : ""}before ${rule.before}`;
    if (!build)
      return {
        status: "unknown",
        evidence: `${name}: the record's family; its build date is not known (affected: built ${window})`,
      };
    const said = `${name} built ${build}; affected: built ${window}`;
    if (rule.from && build < rule.from) return { status: "not-affected", evidence: said };
    return { status: build < rule.before ? "affected" : "fixed", evidence: said };
  }
  if (device.vendor?.toLowerCase() !== rule.vendor.toLowerCase()) return undefined;
  if (rule.models && !matchingName(rule.models, [device.model])) return undefined;
  const firmware = device.firmware;
  const line = firmware?.platform;
  const fix = rule.fixed.find((f) => f.platform === line && f.oem === (firmware?.oem ?? null));
  if (!firmware || !fix) {
    const lines = [...new Set(rule.fixed.map((f) => f.platform))].join(", ");
    return {
      status: "unknown",
      evidence: `${device.model ?? "this model"} runs ${firmware?.version ?? "an unknown version"}; the advisory names fixed builds for lines ${lines} only`,
    };
  }
  if (!build)
    return {
      status: "unknown",
      evidence: `${firmware.version}: the build date is not known (fixed in ${fix.version})`,
    };
  return {
    status: build < fix.build ? "affected" : "fixed",
    evidence: `${firmware.version} built ${build}; fixed in ${fix.version} (${fix.build})`,
  };
}

const ORDER: AdvisoryStatus[] = ["affected", "unknown", "fixed", "not-affected"];

export function matchAdvisories(
  device: DeviceIdentity,
  advisories: readonly Advisory[] = ADVISORIES,
): AdvisoryVerdict[] {
  const verdicts: AdvisoryVerdict[] = [];
  for (const advisory of advisories) {
    const judged = advisory.rules
      .map((rule) => judgeRule(rule, device))
      .filter((v): v is NonNullable<RuleVerdict> => v !== undefined);
    if (judged.length === 0) continue;
    // The strongest verdict of its rules: one rule that says affected is enough.
    const verdict = judged.sort(
      (a, b) => ORDER.indexOf(a.status) - ORDER.indexOf(b.status),
    )[0] as NonNullable<RuleVerdict>;
    verdicts.push({
      id: advisory.id,
      title: advisory.title,
      severity: advisory.severity,
      kev: advisory.kev,
      status: verdict.status,
      evidence: verdict.evidence,
      sources: advisory.sources,
    });
  }
  return verdicts;
}
