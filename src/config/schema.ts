/**
 * The shape of `camgate.yaml`, validated with zod. Unknown keys are errors, so a typo is reported instead of
 * silently ignored. Every default is written here once (sections default to `{}`, parsed through their
 * own schema with `prefault`); every key and default is documented in docs/configuration.md.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { LISTEN_FORMAT, parseListenAddress } from "./listen.ts";

/** A listen address, parsed here once: the config holds `{ host, port }`. */
const listen = z.string().transform((text, context) => {
  const address = parseListenAddress(text);
  if (address) return address;
  context.addIssue({ code: "custom", message: `must be ${LISTEN_FORMAT}` });
  return z.NEVER;
});

const secret = z.string().min(1, "must not be empty");

export const tlsSchema = z.strictObject({
  cert: z.string().min(1),
  key: z.string().min(1),
  /** CA that signs client certificates; enables mTLS. */
  clientCa: z.string().min(1).optional(),
  /** Refuse connections without a valid client certificate. */
  requireClientCert: z.boolean().default(false),
});

export const serverSchema = z.strictObject({
  listen: listen.prefault("127.0.0.1:8080"),
  publicUrl: z.url().optional(),
  tls: tlsSchema.optional(),
  /** Addresses or CIDR ranges of proxies whose X-Forwarded-User is believed. */
  trustedProxies: z
    .array(
      z.string().refine((entry) => {
        const [address = "", prefix, extra] = entry.split("/");
        const family = isIP(address);
        if (family === 0 || extra !== undefined) return false;
        if (prefix === undefined) return true;
        const bits = Number(prefix);
        return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
      }, "must be an IP address or a CIDR range such as 10.0.0.0/8 (host names never match a client address)"),
    )
    .default([]),
  /** A bearer token (plain, or a sha256:/scrypt: hash) that may read /metrics and nothing else. */
  metricsToken: secret.optional(),
  /** camgate's RTSP server (off when absent): `rtsp://<listen>/<camera>` and `/<camera>/sub`. */
  rtsp: z
    .strictObject({
      listen: listen.prefault("127.0.0.1:8554"),
      /** RTSPS: TLS with server.tls's certificate. */
      tls: z.boolean().default(false),
      /**
       * How far a viewer may fall behind (bytes camgate holds for it) before it skips to the next keyframe:
       * 4 MiB is ~8 s of a 4 Mbit/s stream. The other viewers never wait for it.
       */
      viewerBacklogBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .default(4 * 1024 * 1024),
      /**
       * What a client may authenticate with: Digest needs a user's password or token in plain text, and
       * clients that get both offered use Digest (ffmpeg does), so `[basic]` suits hashed secrets.
       */
      authMethods: z
        .array(z.enum(["basic", "digest"]))
        .min(1)
        .default(["basic", "digest"]),
      /**
       * Connections open at once from one client address (1024 in all). 64 holds a viewer per stream of 32
       * cameras; an NVR or Frigate reading more cameras' main and sub streams from one host needs more.
       */
      maxConnectionsPerAddress: z.number().int().min(1).max(1024).default(64),
    })
    .optional(),
  /**
   * WebRTC viewers (POST /api/v1/cameras/<id>/webrtc, WHEP style). No STUN or TURN server is contacted
   * unless listed here; host candidates are gathered on the listen address when it is one address (on every
   * interface when it is 0.0.0.0).
   */
  webrtc: z
    .strictObject({
      enabled: z.boolean().default(true),
      iceServers: z
        .array(
          z.strictObject({
            urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
            username: z.string().optional(),
            credential: z.string().optional(),
          }),
        )
        .default([]),
      /** Extra addresses to announce as host candidates (the host's address behind NAT or Docker). */
      announceAddresses: z.array(z.ipv4()).default([]),
      /** UDP ports for ICE, e.g. [40000, 40100] to open in a firewall (default: any free port). */
      portRange: z
        .tuple([z.number().int().min(1024).max(65535), z.number().int().min(1024).max(65535)])
        .optional(),
      maxSessions: z.number().int().min(1).max(1000).default(50),
    })
    .prefault({}),
  /**
   * The cameras' ONVIF faces (`cameras[].onvifPort`): how long a GetStreamUri/GetSnapshotUri token lives,
   * and the UDP port that answers directed WS-Discovery probes (on server.listen's host; 0: any free port;
   * absent with `discovery: false`).
   */
  onvif: z
    .strictObject({
      streamUriSeconds: z.number().int().min(10).max(86_400).default(300),
      discovery: z.boolean().default(true),
      discoveryPort: z.number().int().min(0).max(65535).default(3702),
    })
    .prefault({}),
  /** Allow a non-loopback listener without users, or Basic without TLS. Must be written out. */
  allowInsecure: z.boolean().default(false),
  authRateLimit: z
    .strictObject({
      failures: z.number().int().min(1).default(10),
      windowSeconds: z.number().int().min(1).default(60),
    })
    .prefault({}),
});

export const roleSchema = z.enum(["viewer", "operator", "admin"]);
/** The roles of camgate, in increasing power. */
export type Role = z.infer<typeof roleSchema>;

export const userSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, "letters, digits and _ . @ - only"),
    role: roleSchema,
    token: secret.optional(),
    password: secret.optional(),
    clientCertSubject: z.string().min(1).optional(),
    cameras: z.array(z.string().min(1)).min(1).default(["*"]),
  })
  .refine(
    (user) => user.token !== undefined || user.password !== undefined || user.clientCertSubject !== undefined,
    {
      message: "a user needs a token, a password or a clientCertSubject",
    },
  );

const cameraId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "lower-case letters, digits, _ and - (up to 32)");

const codeList = z.array(z.string().regex(/^[A-Za-z0-9_*]+$/, "an event code such as VideoMotion, or *"));

const auditPort = z.union([z.number().int().min(1).max(65535), z.literal(false)]);

/** A polygon drawn on the picture: corners in 0..1 (x to the right, y down), 3 to 64 of them. */
const polygon = z
  .array(z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]))
  .min(3)
  .max(64);

/**
 * camgate's own motion detection on the camera's pictures (docs/events.md): it confirms the camera's motion
 * (`use: confirm`) or is the camera's motion (`use: detect`, for cameras whose detection is off or poor).
 */
export const motionSchema = z.strictObject({
  enabled: z.boolean().default(true),
  use: z.enum(["confirm", "detect"]).default("confirm"),
  /** Where the pictures come from: the MJPEG stream (`cameras[].mjpeg`), or snapshots for H.264-only sub-streams. */
  frames: z.enum(["mjpeg", "snapshots"]).default("mjpeg"),
  /** Pictures looked at per second (the rest are skipped). */
  fps: z.number().min(0.2).max(15).default(5),
  /** The width pictures are decoded to (shrunk on load; the height keeps the picture's shape). */
  width: z.number().int().min(64).max(640).default(160),
  /** A pixel changed when it differs from its background by more than this (0-255). */
  threshold: z.number().int().min(1).max(255).default(20),
  /** The smallest moving region that counts, as a fraction of the picture. */
  minArea: z.number().min(0.0005).max(0.5).default(0.004),
  /** More than this fraction of the picture changing at once is a change of light (IR switch, clouds). */
  lightingFraction: z.number().min(0.05).max(1).default(0.3),
  /** Motion must last this long to be an episode. */
  minDurationMs: z.number().int().min(0).max(60_000).default(600),
  /** An episode ends after this long without motion. */
  holdSeconds: z.number().min(1).max(600).default(5),
  /** Named areas: events say which ones the motion covered; notifications may be limited to some. */
  zones: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9 _.-]{1,40}$/, "letters, digits, spaces and _ . - (up to 40)"),
        points: polygon,
      }),
    )
    .max(16)
    .default([]),
  /** Areas never looked at (a road, a tree, the on-screen clock). */
  masks: z.array(polygon).max(16).default([]),
});

export const cameraSchema = z.strictObject({
  id: cameraId,
  name: z.string().min(1).optional(),
  /**
   * Groups the live wall offers as tabs ("Outside", "Garage"); a camera may be in several. Display only: a
   * change applies on reload without reconnecting.
   */
  groups: z.array(z.string().trim().min(1).max(40)).max(16).optional(),
  url: z.url().refine((u) => /^https?:\/\/[^/]+\/?$/.test(u), "must be http(s)://host[:port] without a path"),
  username: z.string().min(1),
  password: secret,
  maxConnections: z.number().int().min(1).max(10).default(4),
  queueTimeoutMs: z.number().int().min(100).default(10_000),
  /** How camgate talks to the camera: Dahua's CGI (Amcrest, Dahua and their OEMs) or ONVIF (other makes). */
  protocol: z.enum(["dahua", "onvif"]).default("dahua"),
  /** With `protocol: onvif`: where the device service is (nearly every device has it at the default). */
  onvifDevicePath: z
    .string()
    .regex(/^\/\S*$/, "a path such as /onvif/device_service")
    .default("/onvif/device_service"),
  passthroughPort: z.number().int().min(1).max(65535).optional(),
  /**
   * How hold-to-talk reaches the camera's speaker: Dahua's `audio.cgi` (default: leaves doorbell buttons
   * working), or the ONVIF RTSP backchannel, for cameras without CGI audio (it silences Dahua doorbells
   * while a talk lasts).
   */
  talk: z.enum(["cgi", "backchannel"]).default("cgi"),
  /** Keep the default MJPEG stream open with no viewer, so the first viewer and snapshots never wait. */
  preload: z.boolean().default(false),
  /** This camera's event stream (overrides `events.enabled` and `events.codes`). */
  events: z
    .strictObject({ enabled: z.boolean().optional(), codes: z.array(z.string().min(1)).min(1).optional() })
    .optional(),
  /** This camera's recording (overrides `recording.clips.enabled` and its codes). */
  recording: z
    .strictObject({
      clips: z.boolean().optional(),
      clipCodes: codeList.min(1).optional(),
      /** This camera's recordings stay under this (its oldest deleted first). */
      maxGigabytes: z.number().positive().optional(),
      /** Warn (a `RetentionShort` event, the Health page) when the rules keep less than this many days. */
      minDays: z.number().positive().optional(),
      /** Continuous recording of this camera (off when absent). */
      continuous: z
        .strictObject({
          stream: z.enum(["main", "sub"]).default("main"),
          /** Each file starts at a keyframe once this long has passed. */
          segmentSeconds: z.number().int().min(2).max(3600).default(300),
        })
        .optional(),
    })
    .optional(),
  motion: motionSchema.optional(),
  /** Sender address of this camera's alarm mails, when the device name and IP do not identify it. */
  mailFrom: z.string().min(3).optional(),
  mjpeg: z
    .strictObject({
      channel: z.number().int().min(1).default(1),
      subtype: z.number().int().min(0).max(3).default(1),
    })
    .prefault({}),
  /** The camera's RTSP: its port (on the camera's host), how many sessions camgate may open, the paths. */
  rtsp: z
    .strictObject({
      port: z.number().int().min(1).max(65535).default(554),
      maxSessions: z.number().int().min(1).max(10).default(2),
      main: z
        .string()
        .regex(/^\/\S*$/, "a path such as /cam/realmonitor?channel=1&subtype=0")
        .default("/cam/realmonitor?channel=1&subtype=0"),
      sub: z
        .string()
        .regex(/^\/\S*$/, "a path such as /cam/realmonitor?channel=1&subtype=1")
        .default("/cam/realmonitor?channel=1&subtype=1"),
    })
    .prefault({}),
  /** A port of camgate's where `rtsp://host:<port>/cam/realmonitor?...` reaches this camera (existing URLs). */
  rtspPassthroughPort: z.number().int().min(1).max(65535).optional(),
  /** A port of camgate's where this camera is an ONVIF device (`http://host:<port>/onvif/device_service`). */
  onvifPort: z.number().int().min(1).max(65535).optional(),
  /**
   * This camera's security audit: off for this camera, or where its well-known ports are (a port forward,
   * a NAT); a port set to false is not probed.
   */
  audit: z
    .strictObject({
      enabled: z.boolean().optional(),
      ports: z
        .strictObject({
          telnet: auditPort,
          ssh: auditPort,
          dvrip: auditPort,
          https: auditPort,
          rtmp: auditPort,
        })
        .partial()
        .optional(),
    })
    .optional(),
  timeouts: z
    .strictObject({
      connectMs: z.number().int().min(100).optional(),
      headersMs: z.number().int().min(100).optional(),
      bodyMs: z.number().int().min(100).optional(),
    })
    .optional(),
});

export const relaySchema = z.strictObject({
  /** How long an upstream stream stays open after its last viewer left. */
  lingerMs: z.number().int().min(0).default(10_000),
  /** No frame for this long counts as a stall: reconnect. */
  stallMs: z.number().int().min(500).default(5000),
  /** Send viewers a "camera offline" picture every 2 s while the camera is down. */
  offlineFrames: z.boolean().default(true),
  /** Default age a snapshot may have (ms) before the camera is asked again. */
  snapshotMaxAgeMs: z.number().int().min(0).default(1000),
});

export const eventsSchema = z.strictObject({
  /** Subscribe to the cameras' event streams. */
  enabled: z.boolean().default(true),
  /** Codes to subscribe to (`All` or a list). */
  codes: z.array(z.string().min(1)).min(1).default(["All"]),
  heartbeatSeconds: z.number().int().min(1).max(60).default(5),
  /** Reports of one code on one camera this close together are one incident (the mail after the stream). */
  mergeWindowSeconds: z.number().int().min(0).max(3600).default(60),
  /** On `start` of these codes a snapshot is stored with the event. */
  snapshotCodes: codeList.default([
    "VideoMotion",
    "VideoBlind",
    "CrossLineDetection",
    "CrossRegionDetection",
    "SmartMotionHuman",
    "SmartMotionVehicle",
  ]),
  /** How long the signed snapshot and clip links in webhooks and notifications work (hours, up to 7 days). */
  linkHours: z.number().min(0.1).max(168).default(24),
  retention: z
    .strictObject({
      days: z.number().min(0.001).default(30),
      maxEvents: z.number().int().min(1).default(100_000),
    })
    .prefault({}),
  /** The SD card's health: read this often from each camera (0: never), and "full" from this much used. */
  sdCard: z
    .strictObject({
      checkSeconds: z.number().min(0).max(86_400).default(600),
      fullPercent: z.number().min(1).max(100).default(95),
    })
    .prefault({}),
});

/** Codes that make event clips by default: what an owner wants to see again. */
export const DEFAULT_CLIP_CODES = [
  "VideoMotion",
  "VideoBlind",
  "VideoLoss",
  "AlarmLocal",
  "CrossLineDetection",
  "CrossRegionDetection",
  "SmartMotionHuman",
  "SmartMotionVehicle",
];

export const recordingSchema = z.strictObject({
  /** Where recordings go (default `<storage.dir>/recordings`). */
  dir: z.string().min(1).optional(),
  clips: z
    .strictObject({
      /** Event clips for every camera (per camera: `cameras[].recording.clips`). */
      enabled: z.boolean().default(true),
      codes: codeList.default(DEFAULT_CLIP_CODES),
      preRollSeconds: z.number().min(0).max(30).default(5),
      /**
       * Where the pre-roll comes from: `stream` keeps each camera's main stream open (one of its ~6 RTSP
       * sessions, and the few MB of its last GOPs) so a clip begins before the event; `none` opens the
       * stream when an incident starts and lets it go after the clip, so a clip begins at the stream's
       * first keyframe after the event (about a second later, plus the GOP).
       */
      preRoll: z.enum(["stream", "none"]).default("stream"),
      postRollSeconds: z.number().min(0).max(120).default(5),
      /** A clip never runs longer (an event whose stop never comes). */
      maxSeconds: z.number().int().min(5).max(3600).default(300),
      /** Clips older than this are deleted. */
      retentionDays: z.number().min(0.001).default(30),
    })
    .prefault({}),
  /** All recordings together stay under this (oldest deleted first); none when absent. */
  maxGigabytes: z.number().positive().optional(),
  /** Continuous footage older than this is deleted (clips keep their own, longer, limit). */
  continuousRetentionDays: z.number().min(0.001).default(7),
  /**
   * For cameras recorded continuously: the holes in camgate's footage (camgate stopped, the camera or the
   * network down) are filled from the camera's SD card once it is back, at background priority.
   */
  backfill: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** How far back holes are looked for. */
      maxHours: z.number().min(0.01).max(168).default(24),
      /** How often each camera is looked at. */
      intervalSeconds: z.number().min(1).max(86_400).default(300),
      /** Card files copied per camera per look, at most (the next look goes on). */
      maxFilesPerRun: z.number().int().min(1).max(1000).default(20),
      /** Footage younger than this is left to the live recording (a reconnect's blink is no hole). */
      settleSeconds: z.number().min(0).max(3600).default(60),
    })
    .prefault({}),
});

export const smtpSchema = z.strictObject({
  listen: listen.prefault("127.0.0.1:2525"),
  username: z.string().min(1).optional(),
  password: secret.optional(),
  /** Accept any AUTH (cameras on a trusted LAN). */
  acceptAnyCredentials: z.boolean().default(false),
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  maxSizeBytes: z
    .number()
    .int()
    .min(1024)
    .default(10 * 1024 * 1024),
});

/** What an owner may be notified of (src/events/alert-kinds.ts says which events are which). */
export const ALERT_KINDS = [
  "person",
  "vehicle",
  "doorbell",
  "motion",
  "confirmed-motion",
  "tamper",
  "offline",
  "security",
] as const;

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "a time of day as HH:MM (24 hours)");

/**
 * A notification target: an ntfy topic (the ntfy app on a phone, self-hosted or ntfy.sh), or any HTTP
 * endpoint that takes a form with a picture (Pushover, Telegram's sendPhoto, Gotify through a bridge).
 */
export const notifySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits and _ . - (up to 64)"),
  kind: z.enum(["ntfy", "http"]).default("ntfy"),
  /** ntfy: the topic's URL (`https://ntfy.sh/my-house-4f9a`); http: where the form is POSTed. */
  url: z.url().refine((u) => /^https?:\/\//.test(u), "must be http(s)://"),
  /** ntfy: an access token (sent as `Authorization: Bearer`). */
  token: secret.optional(),
  /** Notify as this user: only the cameras they may see. */
  user: z.string().min(1).optional(),
  cameras: z.array(z.string().min(1)).min(1).default(["*"]),
  /**
   * Only events in one of these zones: camgate's motion zones (`cameras[].motion.zones`) or the rule or
   * region a camera's smart event names (Dahua's IVS rule, SMD region). Events that name no zone (a
   * doorbell, a camera offline) are not held back.
   */
  zones: z.array(z.string().min(1)).min(1).optional(),
  kinds: z.array(z.enum(ALERT_KINDS)).min(1).default(["person", "vehicle", "doorbell", "offline"]),
  /** No notification between these times (the machine's clock, or `timeZone`), but for `allow`'s kinds. */
  quietHours: z
    .strictObject({
      from: clockTime,
      to: clockTime,
      allow: z.array(z.enum(ALERT_KINDS)).default(["doorbell"]),
    })
    .optional(),
  /** An IANA zone for quiet hours and the time in messages (`Europe/Berlin`); default the machine's. */
  timeZone: z
    .string()
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    }, "an IANA time zone such as Europe/Berlin")
    .optional(),
  /** After a notification of a kind for a camera, the same kind of that camera is quiet this long. */
  cooldownSeconds: z.number().int().min(0).max(86_400).default(60),
  /** ntfy's priority (1 min … 5 urgent); doorbell presses go out at least at 4. */
  priority: z.number().int().min(1).max(5).default(3),
  /** http: the form's fields, `{title}`, `{message}`, `{click}`, `{camera}`, `{kind}`, `{time}` replaced. */
  fields: z
    .record(z.string(), z.string())
    .default({ title: "{title}", message: "{message}", url: "{click}" }),
  /** http: the form field that carries the snapshot JPEG. */
  imageField: z.string().min(1).default("image"),
  timeoutMs: z.number().int().min(100).default(10_000),
});

export const webhookSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  url: z.url().refine((u) => /^https?:\/\//.test(u), "must be http(s)://"),
  secret: secret,
  cameras: z.array(z.string().min(1)).min(1).default(["*"]),
  codes: z.array(z.string().min(1)).min(1).default(["*"]),
  actions: z
    .array(z.enum(["start", "stop", "pulse", "state", "*"]))
    .min(1)
    .default(["*"]),
  timeoutMs: z.number().int().min(100).default(10_000),
  /** Also send camgate 0.1's X-Camgate-Signature next to the Standard Webhooks headers. */
  legacySignature: z.boolean().default(true),
});

export const mqttSchema = z.strictObject({
  /** mqtt://host:1883 or mqtts://...; not needed with `embedded: true`. */
  url: z
    .string()
    .regex(/^mqtts?:\/\/[^/]+$/, "mqtt://host:port or mqtts://host:port")
    .optional(),
  username: z.string().min(1).optional(),
  password: secret.optional(),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_/-]+$/)
    .default("camgate"),
  homeAssistant: z.boolean().default(true),
  discoveryPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_/-]+$/)
    .default("homeassistant"),
  /** Start an aedes broker (MQTT 3.1.1) on `embeddedListen`. */
  embedded: z.boolean().default(false),
  embeddedListen: listen.prefault("127.0.0.1:1883"),
  protocolVersion: z.union([z.literal(4), z.literal(5)]).optional(),
  clientId: z.string().min(1).default("camgate"),
});

export const backupSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Hours between scheduled backups (a backup also runs at start-up). 0: only at start-up and on demand. */
  intervalHours: z.number().min(0).default(24),
  /** Replace passwords, keys and credentials by a fixed marker in the committed files. */
  redact: z.boolean().default(true),
  /** Push the repository here after each commit (https URL of a repository the owner provides). */
  remote: z
    .strictObject({ url: z.url(), username: z.string().optional(), password: secret.optional() })
    .optional(),
});

/** The cameras' security audit (docs/security.md): what it reads, when, and what counts as too old. */
export const auditSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Hours between audits of every camera (one also runs when a camera is first owned and after a config backup that changed something). 0: only then and on demand. */
  intervalHours: z.number().min(0).default(24),
  /** Firmware built longer ago than this many years is a finding. */
  firmwareMaxAgeYears: z.number().min(1).max(30).default(4),
  /** Probe the cameras' well-known ports (Telnet, SSH, 37777, HTTPS, RTMP) with a TCP connect. */
  probePorts: z.boolean().default(true),
});

export const syslogSchema = z.strictObject({
  /** udp://host:514, tcp://host:601 or tls://host:6514 */
  url: z
    .string()
    .regex(/^(udp|tcp|tls):\/\/[^/]+:\d+$/, "udp://host:port, tcp://host:port or tls://host:port"),
  format: z.literal("rfc5424").default("rfc5424"),
  /** Forward camera logs, gateway events, or both. */
  forward: z
    .array(z.enum(["camera-logs", "events"]))
    .min(1)
    .default(["camera-logs", "events"]),
  hostname: z.string().min(1).optional(),
});

export const configSchema = z.strictObject({
  server: serverSchema.prefault({}),
  storage: z
    .strictObject({
      dir: z.string().min(1).default("./data"),
      /**
       * Several instances sharing the cameras through PostgreSQL: each camera is owned by one live instance
       * (a lease), and only the owner opens sessions to it.
       */
      postgres: z
        .strictObject({
          url: z.string().regex(/^postgres(ql)?:\/\//, "a postgresql:// URL"),
          /** This instance's name among the others (default: the host name and a random suffix). */
          instance: z
            .string()
            .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
            .optional(),
          /** How long a camera's lease lives without a heartbeat: the failover time. */
          leaseSeconds: z.number().int().min(2).max(300).default(6),
          /** Where the other instances reach this one's HTTP (and RTSP) server; default the bound address. */
          advertiseUrl: z.url({ protocol: /^https?$/ }).optional(),
          advertiseRtspUrl: z.url({ protocol: /^rtsp$/ }).optional(),
        })
        .optional(),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
      /** `auto`: readable lines on a terminal, JSON lines otherwise (systemd, Docker, a pipe). */
      format: z.enum(["auto", "json", "pretty"]).default("auto"),
    })
    .prefault({}),
  relay: relaySchema.prefault({}),
  events: eventsSchema.prefault({}),
  recording: recordingSchema.prefault({}),
  smtp: smtpSchema.optional(),
  webhooks: z.array(webhookSchema).default([]),
  notify: z.array(notifySchema).default([]),
  mqtt: mqttSchema.optional(),
  backup: backupSchema.prefault({}),
  audit: auditSchema.prefault({}),
  logSync: z
    .strictObject({ enabled: z.boolean().default(true), intervalMinutes: z.number().min(0).default(15) })
    .prefault({}),
  syslog: syslogSchema.optional(),
  users: z.array(userSchema).default([]),
  cameras: z.array(cameraSchema).default([]),
});

export type Config = z.infer<typeof configSchema>;
export type CameraConfig = z.infer<typeof cameraSchema>;
export type UserConfig = z.infer<typeof userSchema>;
export type ServerConfig = z.infer<typeof serverSchema>;
export type EventsConfig = z.infer<typeof eventsSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
export type NotifyConfig = z.infer<typeof notifySchema>;
export type AlertKind = (typeof ALERT_KINDS)[number];
export type MqttConfig = z.infer<typeof mqttSchema>;
export type SmtpConfig = z.infer<typeof smtpSchema>;
export type RecordingConfig = z.infer<typeof recordingSchema>;
