/**
 * The emulated camera's configuration: one JSON tree keyed by config name, as `Config.backup?action=All`
 * returns it and as `configManager.cgi?action=getConfig&name=<Name>` flattens it (`table.<Name>...`).
 *
 * Section and field names follow the fixtures of real devices in reference §2.2 (bcpearce/Amcrest-API
 * IP4M-1041B fixtures, rroller/dahua docstrings, HA core#174441). The tree also drives behaviour: Encode sets
 * frame rate, size and compression of each stream, MotionDetect enables motion events, Email enables alarm
 * mails, General.LockLogin* set the lockout.
 */
import type { JsonObject, JsonValue } from "../protocol/kv.ts";
import type { Profile } from "./profiles.ts";

function encodeFormat(
  compression: string,
  width: number,
  height: number,
  fps: number,
  bitRate: number,
): JsonObject {
  return {
    Audio: { Bitrate: 64, Compression: "G.711A", Depth: 16, Frequency: 8000, Mode: 0, Pack: "DHAV" },
    AudioEnable: false,
    Video: {
      BitRate: bitRate,
      BitRateControl: "CBR",
      Compression: compression,
      CustomResolutionName: `${width}x${height}`,
      FPS: fps,
      GOP: fps * 2,
      Height: height,
      Pack: "DHAV",
      Priority: 0,
      Profile: "Main",
      Quality: 4,
      QualityRange: 6,
      SVCTLayer: 1,
      Width: width,
    },
    VideoEnable: true,
  };
}

function eventHandler(mail: boolean): JsonObject {
  return {
    AlarmOutChannels: [0],
    AlarmOutEnable: false,
    AlarmOutLatch: 10,
    Dejitter: 0,
    MailEnable: mail,
    RecordChannels: [0],
    RecordEnable: true,
    RecordLatch: 10,
    SnapshotChannels: [0],
    SnapshotEnable: false,
    SnapshotPeriod: 0,
    SnapshotTimes: 0,
  };
}

function perChannel<T extends JsonValue>(channels: number, make: (channel: number) => T): T[] {
  return Array.from({ length: channels }, (_, channel) => make(channel));
}

export interface ConfigTreeInputs {
  profile: Profile;
  machineName: string;
  /** The address the camera reports as its own (alarm mails carry it as `IP Address`). */
  ipAddress: string;
  macAddress: string;
  httpPort: number;
}

/**
 * Security settings for the audit's tests, applied over the profile's defaults: `insecure` is a camera its
 * owner never hardened and then loosened further (Telnet and DDNS on, the ONVIF and login-lock checks off,
 * no NTP); `secure` is one that passes the hardening baseline. The factory state (no
 * preset) has P2P and UPnP on, as these cameras ship.
 */
export const SECURITY_PRESETS: Record<"insecure" | "secure", Record<string, JsonValue>> = {
  insecure: {
    "T2UServer.Enable": true,
    "UPnP.Enable": true,
    "DDNS[0].Enable": true,
    "Telnet.Enable": true,
    "UserGlobal.OnvifLoginCheck": false,
    "General.LockLoginEnable": false,
    // Not Email.Enable: the camera would mail its alarms to Email.Address (smtp.example.org).
    "Email.Anonymous": true,
    "NTP.Enable": false,
  },
  secure: {
    "T2UServer.Enable": false,
    "UPnP.Enable": false,
    "DDNS[0].Enable": false,
    "Telnet.Enable": false,
    "UserGlobal.OnvifLoginCheck": true,
    "General.LockLoginEnable": true,
    "Email.Enable": false,
    "Email.Password": "",
    "NTP.Enable": true,
    "AutoMaintain.AutoRebootEnable": false,
  },
};

export function buildConfigTree(inputs: ConfigTreeInputs): JsonObject {
  const { profile } = inputs;
  const [mainWidth, mainHeight] = profile.mainResolution;
  const tree: JsonObject = {
    General: {
      LocalNo: 8,
      LockLoginEnable: true,
      // Amcrest ships 30 (IP4M-1041B fixture); aiodahua's cameras lock after 5. We emulate the stricter 5.
      LockLoginTimes: 5,
      LoginFailLockTime: 300,
      MachineAddress: "",
      MachineName: inputs.machineName,
      MaxOnlineTime: 3600,
    },
    Network: {
      DefaultInterface: "eth0",
      Domain: "dahua",
      Hostname: inputs.machineName,
      eth0: {
        DefaultGateway: "192.168.0.1",
        DhcpEnable: true,
        DnsServers: ["8.8.8.8", "8.8.4.4"],
        IPAddress: inputs.ipAddress,
        MTU: 1500,
        PhysicalAddress: inputs.macAddress,
        SubnetMask: "255.255.255.0",
      },
    },
    RTSP: { Enable: true, Port: 554, RTP: { EndPort: 40000, StartPort: 20000 } },
    Web: { Enable: true, Port: inputs.httpPort },
    Encode: perChannel(profile.channels, () => ({
      // Amcrest removed MJPEG from the main stream around 2.420.AC00.15 (python-amcrest, IP2M-841B): main is
      // H.264 and the first extra stream is MJPG, which is what mjpg/video.cgi?subtype=1 serves.
      MainFormat: [encodeFormat(profile.mainCodec, mainWidth, mainHeight, 25, 4096)],
      ExtraFormat: [encodeFormat("MJPG", 640, 480, 15, 1024), encodeFormat("H.264", 352, 240, 15, 256)],
      SnapFormat: [encodeFormat("MJPG", mainWidth, mainHeight, 1, 1024)],
    })),
    Snap: perChannel(profile.channels, () => ({
      HolidayEnable: false,
      TimeSection: [["1 00:00:00-24:00:00"]],
    })),
    MotionDetect: perChannel(profile.channels, () => ({
      DetectVersion: "V3.0",
      Enable: true,
      EventHandler: eventHandler(true),
      Level: 3,
      MotionDetectWindow: [{ Id: 0, Name: "Region1", Sensitive: 60, Threshold: 5 }],
    })),
    BlindDetect: perChannel(profile.channels, () => ({
      Enable: true,
      EventHandler: eventHandler(true),
      Level: 3,
    })),
    LossDetect: perChannel(profile.channels, () => ({ Enable: true, EventHandler: eventHandler(true) })),
    Alarm: [{ Enable: false, EventHandler: eventHandler(true), Name: "Alarm1", SensorType: "NO" }],
    VideoInOptions: perChannel(profile.channels, () => ({
      Backlight: 0,
      Brightness: 50,
      Contrast: 50,
      DayNightColor: 1,
      ExposureMode: 0,
      Flip: false,
      Mirror: false,
      Rotate90: 0,
      Saturation: 50,
    })),
    ChannelTitle: perChannel(profile.channels, (channel) => ({ Name: `CH${channel + 1}` })),
    NTP: { Address: "clock.isc.org", Enable: false, Port: 123, TimeZone: 0, UpdatePeriod: 10 },
    Locales: { DSTEnable: false, TimeFormat: "yyyy-MM-dd HH:mm:ss" },
    Email: {
      Address: "smtp.example.org",
      Anonymous: false,
      AttachEnable: true,
      Enable: false,
      HealthReport: { Enable: false, Interval: 60 },
      Password: "mail-secret",
      Port: 25,
      Receivers: ["owner@example.org"],
      SendAddress: "camera@example.org",
      SendInterv: 0,
      SslEnable: false,
      Title: "IPC Message",
      TlsEnable: false,
      UserName: "camera",
    },
    DDNS: [
      {
        Address: "www.dyndns.com",
        Enable: false,
        HostName: "",
        Password: "ddns-secret",
        Port: 80,
        Protocol: "Dyndns DDNS",
        UserName: "",
      },
    ],
    UPnP: { Enable: true, MapTable: [] },
    T2UServer: { Enable: true },
    Telnet: { Enable: false },
    // python-amcrest's onvif_login_check sets UserGlobal.OnvifLoginCheck; on by default.
    UserGlobal: { OnvifLoginCheck: true },
    // As a Dahua camera lists it (a public getConfig capture): the weekly maintenance reboot, on.
    AutoMaintain: {
      AutoRebootDay: 2,
      AutoRebootEnable: true,
      AutoRebootHour: 4,
      AutoRebootMinute: 0,
      AutoShutdownDay: -1,
      AutoShutdownHour: 0,
      AutoShutdownMinute: 0,
    },
  };
  if (profile.name === "amcrest-ipm-723w") {
    tree.WLan = {
      wlan0: {
        ConnectEnable: true,
        Enable: true,
        Encryption: "WPA2-PSK",
        KeyFlag: true,
        Keys: ["wifi-secret"],
        SSID: "home",
      },
    };
  }
  if (profile.ptz) {
    tree.Ptz = [
      {
        Address: 1,
        Attribute: [115200, 8, "None", 1],
        Homing: { Enable: false, Time: 60 },
        Protocol: "DH-SD1",
        PresetMax: 25,
      },
    ];
  }
  return tree;
}
