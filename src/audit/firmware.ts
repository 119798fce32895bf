/**
 * What a camera's firmware string says, read as Dahua numbers its builds: `2.520.AC00.18.R,build:2017-06-29`
 * (python-amcrest, jantman's 2018 IP2M-841B capture), `V2.800.0000016.0.R,build:2020-06-05`, or an NVR's
 * `4.000.0000000.3.R`. The part after the leading number is the platform generation (2.400, 2.420, 2.520,
 * 2.622, 2.800 ...; NVRs 4.000), the letters in the third part the OEM (`AC` Amcrest, `LR` Lorex, digits
 * for Dahua's own), and the build date the field Dahua's advisories use ("Buildtime before ..."). Pure.
 */

export interface Firmware {
  /** As the camera printed it, without the build. */
  version: string;
  /** `2.520`: the first two numbers. */
  platform: string | undefined;
  /** `AC` for Amcrest builds, undefined for Dahua's own (digits only). */
  oem: string | undefined;
  /** `YYYY-MM-DD`, from `build:` or a date at the end of the version (`...R.200316` is 2020-03-16). */
  buildDate: string | undefined;
}

const DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;

/** A date as `YYYY-MM-DD`, or undefined when it is not one (a camera's text is never trusted to be). */
export function normaliseDate(text: string | undefined): string | undefined {
  const match = DATE.exec(text?.trim() ?? "");
  if (!match) return undefined;
  const [, year, month, day] = match;
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1 || d > 31) return undefined;
  return `${year}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/** `...R.200316` (YYMMDD after the release letter, as Tenable's Amcrest list writes fixed builds). */
function dateInVersion(version: string): string | undefined {
  const match = /\.[A-Z]\.(\d{2})(\d{2})(\d{2})$/.exec(version);
  if (!match) return undefined;
  const [, yy, mm, dd] = match;
  return normaliseDate(`20${yy}-${mm}-${dd}`);
}

export function parseFirmware(softwareVersion: string, build?: string): Firmware {
  // `version=2.520.AC00.18.R,build:2017-06-29` may arrive whole or split by the caller.
  const [head, tail] = softwareVersion.split(/,\s*build:|\s+build:/);
  const version = (head ?? softwareVersion).trim().replace(/^V(?=\d)/, "");
  const parts = version.split(".");
  const platform =
    /^\d+$/.test(parts[0] ?? "") && /^\d+$/.test(parts[1] ?? "") ? `${parts[0]}.${parts[1]}` : undefined;
  // `AC00`, `00AC004`: two letters, then digits to the end; Dahua's own builds are digits only.
  const oem = /([A-Z]{2})\d*$/.exec(parts[2] ?? "")?.[1];
  return {
    version,
    platform,
    oem,
    buildDate: normaliseDate(build ?? tail) ?? dateInVersion(version),
  };
}
