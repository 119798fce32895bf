/**
 * Which configured camera sent an alarm mail: by its configured sender address, then by the mail's
 * `Alarm Device Name` (the camera's id, name, or MachineName as the camera reports it), then by its unique
 * `IP Address`. A MachineName changed on the camera (renamed in its web UI or through camgate) is learnt
 * again when a mail names a device camgate does not know, at most once a minute, so a rename does not turn
 * every later mail into "unknown camera".
 */
import type { Logger } from "pino";
import type { CameraRegistry } from "../camera/registry.ts";
import type { CameraConfig } from "../config/schema.ts";
import type { AlarmMail } from "../protocol/alarm-mail.ts";

/** Mail from unknown senders cannot make camgate ask every camera more often than this. */
const RELEARN_INTERVAL_MS = 60_000;

export class MailMatcher {
  /** camera id → MachineName as the camera reported it. */
  private readonly machineNames = new Map<string, string>();
  private readonly unsubscribes: (() => void)[] = [];
  private lastRelearn = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly configs: readonly CameraConfig[],
    private readonly cameras: CameraRegistry,
    private readonly logger: Logger,
  ) {}

  /** Learns the cameras' MachineNames now and whenever a camera comes (back) online. */
  start(): void {
    for (const entry of this.cameras.list()) void this.learn(entry.id);
    this.unsubscribes.push(
      this.cameras.watch({
        health: (entry, health) => {
          if (health.state === "online") void this.learn(entry.id);
        },
        added: (entry) => void this.learn(entry.id),
        removed: (entry) => this.machineNames.delete(entry.id),
      }),
    );
  }

  /** The camera that sent the mail; an unknown device name first makes camgate ask the cameras again. */
  async matchOrRelearn(
    mail: AlarmMail,
    sender: string | undefined,
    remote: string | undefined,
  ): Promise<string | undefined> {
    const camera = this.match(mail, sender, remote);
    if (camera || !mail.deviceName || Date.now() - this.lastRelearn < RELEARN_INTERVAL_MS) return camera;
    this.lastRelearn = Date.now();
    await Promise.all(
      this.cameras.list().map((entry) => {
        this.cameras.forgetDeviceInfo(entry.id);
        return this.learn(entry.id);
      }),
    );
    return this.match(mail, sender, remote);
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
  }

  match(mail: AlarmMail, sender: string | undefined, remote: string | undefined): string | undefined {
    const bySender = sender
      ? this.configs.find((c) => c.mailFrom?.toLowerCase() === sender.toLowerCase())
      : undefined;
    if (bySender) return bySender.id;
    const name = mail.deviceName?.toLowerCase();
    if (name) {
      const byName = this.configs.find((c) => c.id === name || c.name?.toLowerCase() === name);
      if (byName) return byName.id;
      for (const [id, known] of this.machineNames) if (known.toLowerCase() === name) return id;
    }
    const hostOf = (url: string) => new URL(url).hostname;
    const ip = mail.ipAddress ?? remote?.replace(/^::ffff:/, "");
    const byIp = this.configs.filter((c) => hostOf(c.url) === ip);
    // Several emulated cameras can share an address; only a unique match identifies the camera.
    return byIp.length === 1 ? byIp[0]?.id : undefined;
  }

  private async learn(camera: string): Promise<void> {
    try {
      const info = await this.cameras.deviceInfo(camera);
      if (info.machineName) this.machineNames.set(camera, info.machineName);
    } catch (error) {
      // Mail from this camera still matches by sender or address; its name is learnt when it is back.
      this.logger.warn(
        { camera, err: error instanceof Error ? error.message : String(error) },
        "could not learn the camera's MachineName for alarm mails",
      );
    }
  }
}
