/**
 * The built-in demo: with no config file, `camgate serve` starts two emulated cameras in the same process on
 * free loopback ports, `dogs` (amcrest-ip2m-841b, PTZ) and `front` (amcrest-ipm-723w), and points the gateway
 * at them, on 127.0.0.1:8080 or the next free port, with its RTSP server on 127.0.0.1:8554 or the next free one.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import type { Config } from "../config/schema.ts";
import { configSchema } from "../config/schema.ts";
import { type RunningEmulator, startEmulator } from "../emulator/index.ts";

export interface Demo {
  config: Config;
  emulators: RunningEmulator[];
  close(): Promise<void>;
}

function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** 8080, or the next free port up to 8099, or any free port. */
export async function demoPort(host = "127.0.0.1", first = 8080): Promise<number> {
  for (let port = first; port < first + 20; port++) if (await portIsFree(port, host)) return port;
  return 0;
}

export async function startDemo(options: { storageDir?: string; port?: number } = {}): Promise<Demo> {
  // The emulated cameras get a random password: the gateway knows it, nobody needs to.
  const password = randomBytes(12).toString("base64url");
  const mailPassword = randomBytes(12).toString("base64url");
  const smtpPort = await demoPort("127.0.0.1", 2525);
  const mqttPort = await demoPort("127.0.0.1", 1883);
  const smtp = { host: "127.0.0.1", port: smtpPort, username: "cameras", password: mailPassword };
  const emulators: RunningEmulator[] = [];
  try {
    emulators.push(
      await startEmulator({
        profile: "amcrest-ip2m-841b",
        password,
        name: "Dogs",
        // The main stream at the size the camera's snapshot and config say (1920x1080).
        rtsp: { mainVideo: "full-size" },
        smtp,
        motionCycle: { everyMs: 30_000, durationMs: 5000 },
      }),
      // Never hardened, then loosened (Telnet on a port of its own, ONVIF without a login check, ...): what
      // the security audit finds on the camera page.
      await startEmulator({
        profile: "amcrest-ipm-723w",
        password,
        name: "Front",
        rtsp: { mainVideo: "full-size" },
        motionCycle: { everyMs: 45_000, durationMs: 5000 },
        security: "insecure",
        telnetPort: 0,
      }),
    );
  } catch (error) {
    await Promise.allSettled(emulators.map((e) => e.close()));
    throw error;
  }
  const [dogs, front] = emulators.map((e) => e.cameras[0]?.url ?? "");
  const [dogsRtsp, frontRtsp] = emulators.map((e) => e.cameras[0]?.rtspPort ?? 554);
  // The audit probes the emulators' own ports only, never this machine's (its SSH, its web server).
  const noPorts = { telnet: false, ssh: false, dvrip: false, https: false, rtmp: false } as const;
  const frontTelnet = emulators[1]?.cameras[0]?.camera.telnet?.listeningPort;
  const port = options.port ?? (await demoPort());
  const rtspPort = await demoPort("127.0.0.1", 8554);
  const config = configSchema.parse({
    // camgate's RTSP server relays the cameras' H.264 main and sub streams (one camera session each).
    server: { listen: `127.0.0.1:${port}`, rtsp: { listen: `127.0.0.1:${rtspPort}` } },
    storage: { dir: options.storageDir ?? "./data" },
    // The dogs camera mails its alarms to camgate; both stream their events; MQTT on an embedded broker;
    // both make event clips, and the front camera records continuously.
    smtp: { listen: `127.0.0.1:${smtpPort}`, username: "cameras", password: mailPassword },
    mqtt: { embedded: true, embeddedListen: `127.0.0.1:${mqttPort}` },
    cameras: [
      {
        id: "dogs",
        name: "Dog crates",
        groups: ["Inside"],
        url: dogs,
        username: "admin",
        password,
        rtsp: { port: dogsRtsp },
        audit: { ports: noPorts },
      },
      {
        id: "front",
        name: "Front yard",
        groups: ["Outside"],
        url: front,
        username: "admin",
        password,
        rtsp: { port: frontRtsp },
        audit: { ports: { ...noPorts, ...(frontTelnet ? { telnet: frontTelnet } : {}) } },
        // Recorded around the clock (1 min files, at most half a gigabyte), so its timeline has footage.
        recording: { continuous: { segmentSeconds: 60 }, maxGigabytes: 0.5 },
      },
    ],
  });
  return {
    config,
    emulators,
    close: async () => void (await Promise.allSettled(emulators.map((e) => e.close()))),
  };
}
