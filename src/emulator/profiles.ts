/**
 * Emulated device families. Each profile is a real device family (model and firmware named below), with the quirks that
 * family has; the comments name the model or firmware each fact comes from.
 */

export type ProfileName =
  | "amcrest-ip2m-841b"
  | "amcrest-ipm-723w"
  | "dahua-2024"
  | "legacy-2014"
  | "nvr-strict-nonce"
  | "dahua-h265"
  | "amcrest-ad410";

export type AuthScheme = "digest" | "basic";

/**
 * `reusable`: a nonce serves many requests while `nc` strictly increases, until it expires (then a 401 with
 * `stale=TRUE, algorithm=MD5`). `single-use`: every request needs a fresh challenge, and reusing a nonce
 * (`nc=00000002`) gets a 401 with a new nonce, as Dahua NVR5464 firmware does (rroller/dahua#603, #647).
 */
export type NoncePolicy = "reusable" | "single-use";

/**
 * How "unsupported" is answered: `bad-request` is 400 `Error\r\nBad Request!` (firmware up to 2022: E891AB
 * 2.622, NV4116-HS 4.000); `not-implemented` is 501 `Error\r\nNot Implemented!` (2024: IPC-B54IR-ASE-S3 3.142).
 */
export type ErrorStyle = "bad-request" | "not-implemented";

/**
 * Event stream framing (reference §2.7):
 * - `jsoncpp-2019`: `Content-Length:N` (no space), JSON data with LF and 3-space indent, N counts the final
 *   `\n` (2019 Dahua byte capture, 2020 NVR, 2022 curl dump);
 * - `plain-2016`: no data at all, N is the exact body length (2016 Amcrest, python-amcrest#22);
 * - `cjson-2023`: `Content-Length: N` (with a space), tab-indented JSON with EventID/UTC/LocaleTime, N excludes
 *   the final `\n` (2023 camera fixture, ipcmanview).
 */
export type EventFraming = "jsoncpp-2019" | "plain-2016" | "cjson-2023";

export interface Profile {
  name: ProfileName;
  deviceType: string;
  softwareVersion: string;
  hardwareVersion: string;
  /** Serial of the first emulated unit; further units (`--count`) vary the last digits. */
  serial: string;
  vendor: string | undefined;
  processor: string;
  updateSerial: string;
  auth: AuthScheme;
  noncePolicy: NoncePolicy;
  errorStyle: ErrorStyle;
  eventFraming: EventFraming;
  channels: number;
  ptz: boolean;
  mainResolution: readonly [number, number];
  /** Name used for VideoMotion in alarm e-mails: Amcrest says "Motion Detect", Dahua "Motion Detection". */
  motionMailName: string;
  /** Whether `Config.backup?action=All` exists; clients fall back to `getConfig&name=All` without it. */
  configBackup: boolean;
  /** The main stream's codec over RTSP. */
  mainCodec: "H.264" | "H.265";
  /** A video doorbell: its button sends `_DoTalkAction_` (Action Invite), except during a backchannel. */
  doorbell?: boolean;
}

export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  // Amcrest IP2M-841B indoor pan/tilt; firmware of the jantman 2018 capture, serial shape from the same.
  "amcrest-ip2m-841b": {
    name: "amcrest-ip2m-841b",
    deviceType: "IP2M-841B",
    softwareVersion: "2.520.AC00.18.R,build:2017-06-29",
    hardwareVersion: "1.00",
    serial: "AMC00056485D24AAF8",
    vendor: "Amcrest",
    processor: "S2LM",
    updateSerial: "IPC-HDW4200S-A",
    auth: "digest",
    noncePolicy: "reusable",
    errorStyle: "bad-request",
    eventFraming: "jsoncpp-2019",
    channels: 1,
    ptz: true,
    mainResolution: [1920, 1080],
    motionMailName: "Motion Detect",
    configBackup: true,
    mainCodec: "H.264",
  },
  // Amcrest IPM-723W outdoor fixed Wi-Fi camera (2017 firmware); its PTZ caps report no PTZ.
  "amcrest-ipm-723w": {
    name: "amcrest-ipm-723w",
    deviceType: "IPM-723W",
    softwareVersion: "2.400.AC02.15.R,build:2017-07-31",
    hardwareVersion: "1.00",
    serial: "AMC0003A1B2C3D4E5F",
    vendor: "Amcrest",
    processor: "S2L22M",
    updateSerial: "IPC-HFW1300S-W",
    auth: "digest",
    noncePolicy: "reusable",
    errorStyle: "bad-request",
    eventFraming: "jsoncpp-2019",
    channels: 1,
    ptz: false,
    mainResolution: [1280, 960],
    motionMailName: "Motion Detect",
    configBackup: true,
    mainCodec: "H.264",
  },
  // 2024 Dahua firmware (IPC-B54IR-ASE-S3 3.142 / IPC-Color4K-T 3.000): 501 for unknown things, cJSON events.
  "dahua-2024": {
    name: "dahua-2024",
    deviceType: "IPC-HDW5831R-ZE",
    softwareVersion: "3.142.0000000.2.R,build:2024-03-20",
    hardwareVersion: "1.00",
    serial: "9B02F4APAZ1A2B3",
    vendor: "Dahua",
    processor: "SSC327DE",
    updateSerial: "IPC-HDW5830R-Z",
    auth: "digest",
    noncePolicy: "reusable",
    errorStyle: "not-implemented",
    eventFraming: "cjson-2023",
    channels: 1,
    ptz: false,
    mainResolution: [1920, 1080],
    motionMailName: "Motion Detection",
    configBackup: true,
    mainCodec: "H.264",
  },
  // Dahua IPC-HFW4300S-V2 on 2.420.0001.0.R (2014): Basic only, realm "Device_CGI" (rroller/dahua#583).
  "legacy-2014": {
    name: "legacy-2014",
    deviceType: "IPC-HFW4300S-V2",
    softwareVersion: "2.420.0001.0.R,build:2014-08-20",
    hardwareVersion: "1.00",
    serial: "1J0118FPAA00123",
    // getVendor is missing on some old firmware (aiodahua README): answered as unsupported.
    vendor: undefined,
    processor: "A5S",
    updateSerial: "IPC-HFW4300S",
    auth: "basic",
    noncePolicy: "reusable",
    errorStyle: "bad-request",
    eventFraming: "plain-2016",
    channels: 1,
    ptz: false,
    mainResolution: [1280, 960],
    motionMailName: "Motion Detection",
    // [INFERRED] The JSON export came with later firmware; this 2014 build answers it as unknown, which is
    // the case the gateway's getConfig&name=All fallback exists for.
    configBackup: false,
    mainCodec: "H.264",
  },
  // A Dahua 4K bullet with an H.265 main stream (IPC-HDW2849H-S-IL class, go2rtc#2205); otherwise dahua-2024.
  "dahua-h265": {
    name: "dahua-h265",
    deviceType: "IPC-HDW2849H-S-IL",
    softwareVersion: "3.142.0000000.2.R,build:2024-03-20",
    hardwareVersion: "1.00",
    serial: "9B02F4APAZ7H265",
    vendor: "Dahua",
    processor: "SSC338Q",
    updateSerial: "IPC-HDW2849H-S-IL",
    auth: "digest",
    noncePolicy: "reusable",
    errorStyle: "not-implemented",
    eventFraming: "cjson-2023",
    channels: 1,
    ptz: false,
    mainResolution: [3840, 2160],
    motionMailName: "Motion Detection",
    configBackup: true,
    mainCodec: "H.265",
  },
  // Amcrest AD410 video doorbell (Dahua VTO firmware family): a button, a speaker for postAudio, and the
  // backchannel quirk: while an ONVIF backchannel is open it acts as if in a call and the button is silent
  // (go2rtc #95, #247; frigate #5020; rtsp-h264.md quirk 7).
  "amcrest-ad410": {
    name: "amcrest-ad410",
    deviceType: "AD410",
    softwareVersion: "1.000.0000000.6.R,build:2021-09-15",
    hardwareVersion: "1.00",
    serial: "AMC0501D2E3F4A5B6C",
    vendor: "Amcrest",
    processor: "SSC335",
    updateSerial: "DB61i",
    auth: "digest",
    noncePolicy: "reusable",
    errorStyle: "bad-request",
    eventFraming: "jsoncpp-2019",
    channels: 1,
    ptz: false,
    mainResolution: [2560, 1920],
    motionMailName: "Motion Detect",
    configBackup: true,
    mainCodec: "H.264",
    doorbell: true,
  },
  // Dahua NVR5464-class recorder: a new nonce on every challenge, nc=00000002 refused (rroller/dahua#603, #647).
  "nvr-strict-nonce": {
    name: "nvr-strict-nonce",
    deviceType: "DHI-NVR5464-4KS2",
    softwareVersion: "4.000.0000000.3.R,build:2020-05-21",
    hardwareVersion: "1.0",
    serial: "5K04F3EPAZ9C1D2",
    vendor: "Dahua",
    processor: "HI3536",
    updateSerial: "NVR5464-4KS2",
    auth: "digest",
    noncePolicy: "single-use",
    errorStyle: "bad-request",
    eventFraming: "jsoncpp-2019",
    channels: 4,
    ptz: false,
    mainResolution: [1280, 720],
    motionMailName: "Motion Detection",
    configBackup: true,
    mainCodec: "H.264",
  },
};

export function isProfileName(name: string): name is ProfileName {
  return Object.hasOwn(PROFILES, name);
}

/** Serial of the n-th unit (0-based): the first is the profile's, the others change the last two digits. */
export function serialFor(profile: Profile, unit: number): string {
  if (unit === 0) return profile.serial;
  const suffix = (unit % 256).toString(16).toUpperCase().padStart(2, "0");
  return `${profile.serial.slice(0, -2)}${suffix}`;
}

/** `AMC00056485D24AAF8` → `AMC00056_24AAF8`, the default machine name seen in the 2018 alarm e-mail. */
export function defaultMachineName(serial: string): string {
  return serial.length > 14 ? `${serial.slice(0, 8)}_${serial.slice(-6)}` : serial;
}
