/** `camgate emulate`: run emulated cameras until Ctrl-C or SIGTERM. */

import { LISTEN_FORMAT, parseListenAddress } from "../config/listen.ts";
import { isProfileName, PROFILES, parseSmtpUrl, startEmulator } from "../emulator/index.ts";

export interface EmulateFlags {
  profile: string;
  listen: string;
  username: string;
  password: string;
  count: string;
  smtp?: string;
  motionEvery?: string;
  fps?: string;
  mainBitrate?: string;
  longGop?: boolean;
  counterVideo?: boolean;
  rtspSessions?: string;
  rtspPort?: string;
  security?: string;
  firmware?: string;
  discovery?: boolean;
}

export async function runEmulate(
  flags: EmulateFlags,
  out: NodeJS.WritableStream,
): Promise<() => Promise<void>> {
  if (!isProfileName(flags.profile)) {
    throw new Error(`unknown profile "${flags.profile}"; choose one of: ${Object.keys(PROFILES).join(", ")}`);
  }
  const address = parseListenAddress(flags.listen);
  if (!address) throw new Error(`--listen must be ${LISTEN_FORMAT}; got "${flags.listen}"`);
  const { host, port } = address;
  const count = Number(flags.count);
  if (!Number.isInteger(count) || count < 1 || count > 64)
    throw new Error("--count must be a whole number from 1 to 64");
  const motionEvery = flags.motionEvery === undefined ? 0 : Number(flags.motionEvery);
  const fps = flags.fps === undefined ? undefined : Number(flags.fps);
  if (fps !== undefined && !(fps >= 1 && fps <= 60)) throw new Error("--fps must be from 1 to 60");
  const mainBitrate = flags.mainBitrate === undefined ? undefined : Number(flags.mainBitrate);
  if (mainBitrate !== undefined && !(mainBitrate >= 100_000 && mainBitrate <= 50_000_000))
    throw new Error("--main-bitrate must be from 100000 to 50000000 bits per second");
  const rtspSessions = Number(flags.rtspSessions ?? 6);
  if (!Number.isInteger(rtspSessions) || rtspSessions < 1 || rtspSessions > 1000)
    throw new Error("--rtsp-sessions must be a whole number from 1 to 1000");
  const rtspPort = flags.rtspPort === undefined ? 0 : Number(flags.rtspPort);
  if (!Number.isInteger(rtspPort) || rtspPort < 0 || rtspPort > 65535)
    throw new Error("--rtsp-port must be a port number (0: any free port)");
  if (flags.security !== undefined && flags.security !== "insecure" && flags.security !== "secure")
    throw new Error("--security must be insecure or secure");
  const security = flags.security as "insecure" | "secure" | undefined;
  const emulator = await startEmulator({
    ...(security ? { security } : {}),
    ...(flags.discovery ? { discovery: true as const } : {}),
    ...(flags.firmware ? { softwareVersion: flags.firmware } : {}),
    rtsp: {
      port: rtspPort,
      maxSessions: rtspSessions,
      ...(mainBitrate !== undefined ? { mainBitrate } : {}),
      ...(flags.longGop ? { quirks: { longGop: true } } : {}),
      ...(flags.counterVideo ? { mainVideo: "counter" as const } : {}),
    },
    profile: flags.profile,
    host,
    port,
    count,
    username: flags.username,
    password: flags.password,
    ...(flags.smtp ? { smtp: parseSmtpUrl(flags.smtp) } : {}),
    ...(fps !== undefined ? { config: { "Encode[0].ExtraFormat[0].Video.FPS": fps } } : {}),
    motionCycle:
      motionEvery > 0
        ? { everyMs: motionEvery * 1000, durationMs: Math.min(5000, motionEvery * 500) }
        : false,
  });
  for (const camera of emulator.cameras) {
    out.write(
      `emulated ${flags.profile} ${camera.serial} on ${camera.url} (user ${flags.username})${camera.rtspPort ? `, RTSP on rtsp://127.0.0.1:${camera.rtspPort}/cam/realmonitor?channel=1&subtype=0` : ""}\n`,
    );
  }
  // SIGUSR2 reboots every emulated camera (3 s down), as the reboot fault of the control handle does: for
  // benchmarks and demos in another process.
  const reboot = () => {
    out.write("rebooting\n");
    void Promise.all(emulator.cameras.map((camera) => camera.control.reboot(3000))).then(() =>
      out.write("back up\n"),
    );
  };
  process.on("SIGUSR2", reboot);
  return async () => {
    process.off("SIGUSR2", reboot);
    await emulator.close();
  };
}
