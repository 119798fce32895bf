/**
 * The gateway's own events: a camera going offline, coming back, refusing the credentials (from its
 * session's health), a stream stalling (the event stream, the MJPEG relay), and a camera that rebooted while
 * its event stream was down (its uptime is shorter than the gap, or than it should be by now).
 */
import type { Logger } from "pino";
import { CameraError } from "../camera/errors.ts";
import type { CameraEntry, CameraSet } from "../camera/registry.ts";
import type { StreamDown } from "../camera/stream-status.ts";
import type { HubRegistry } from "../relay/hub-registry.ts";
import type { EventPublisher } from "./publisher.ts";

export class GatewayWatch {
  private readonly unsubscribes: (() => void)[] = [];
  /** The camera's uptime as last read, and when. */
  private readonly uptimes = new Map<string, { up: number; at: number }>();
  /** When each camera's event stream went down. */
  private readonly downSince = new Map<string, number>();
  /** Cameras whose firmware has no getUpTime (said once, then not asked again). */
  private readonly withoutUptime = new Set<string>();

  constructor(
    private readonly cameras: CameraSet,
    private readonly hubs: HubRegistry,
    private readonly publisher: EventPublisher,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.unsubscribes.push(
      this.cameras.watch({
        health: (entry, health, previous) => {
          const reason = health.reason ?? null;
          if (health.state === "offline")
            void this.publisher.gatewayEvent(entry.id, "CameraOffline", { reason });
          if (health.state === "auth-failed")
            void this.publisher.gatewayEvent(entry.id, "AuthFailed", { reason });
          if (health.state === "online" && (previous.state === "offline" || previous.state === "auth-failed"))
            void this.publisher.gatewayEvent(entry.id, "CameraOnline", { after: previous.state });
        },
        removed: (entry) => {
          this.uptimes.delete(entry.id);
          this.downSince.delete(entry.id);
        },
      }),
    );
    this.unsubscribes.push(
      this.hubs.onStall((camera, channel, subtype, down) => {
        // A stall of a stream this instance relays from another (the owner) is the owner's to report.
        if (this.cameras.get(camera)) this.stalled(camera, { stream: "mjpeg", channel, subtype }, down);
      }),
    );
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
  }

  /** The camera's event stream is open for the first time: remember its uptime for reboot detection. */
  async eventStreamStarted(entry: CameraEntry): Promise<void> {
    const up = await this.uptimeOf(entry);
    if (up !== undefined) this.uptimes.set(entry.id, { up, at: Date.now() });
  }

  eventStreamDown(camera: string, down: StreamDown): void {
    if (!this.downSince.has(camera)) this.downSince.set(camera, Date.now());
    if (down.code === "stalled") this.stalled(camera, { stream: "events" }, down);
  }

  /**
   * After the event stream came back: the camera rebooted if it has been up for less time than the stream
   * was down, or for less than it had been up before plus the time since.
   */
  async eventStreamBack(entry: CameraEntry): Promise<void> {
    const before = this.uptimes.get(entry.id);
    const downAt = this.downSince.get(entry.id);
    this.downSince.delete(entry.id);
    const up = await this.uptimeOf(entry);
    if (up === undefined) return;
    const now = Date.now();
    this.uptimes.set(entry.id, { up, at: now });
    const bootedDuringGap = downAt !== undefined && up < (now - downAt) / 1000 + 1;
    const expected = before ? before.up + (now - before.at) / 1000 : undefined;
    if (bootedDuringGap || (expected !== undefined && up + 5 < expected)) {
      void this.publisher.gatewayEvent(entry.id, "CameraRebooted", {
        uptimeSeconds: up,
        ...(expected !== undefined ? { expectedSeconds: Math.round(expected) } : {}),
      });
    }
  }

  private stalled(camera: string, stream: Record<string, string | number>, down: StreamDown): void {
    void this.publisher.gatewayEvent(camera, "StreamStalled", { ...stream, reason: down.error.message });
  }

  /** Seconds since boot; undefined when the camera cannot say (firmware without getUpTime, or offline). */
  private async uptimeOf(entry: CameraEntry): Promise<number | undefined> {
    if (this.withoutUptime.has(entry.id)) return undefined;
    if (entry.onvif) {
      // ONVIF has no uptime: asking the time keeps the clock offset fresh and tells camgate the camera is there.
      await entry.onvif.client.syncClock().catch(() => undefined);
      return undefined;
    }
    try {
      return await entry.api.uptimeSeconds();
    } catch (error) {
      if (error instanceof CameraError && error.code === "unsupported") {
        this.withoutUptime.add(entry.id);
        this.logger.info({ camera: entry.id }, "the camera has no getUpTime: CameraRebooted is not detected");
        return undefined;
      }
      this.logger.warn(
        { camera: entry.id, err: error instanceof Error ? error.message : String(error) },
        "could not read the camera's uptime; reboots while its event stream is down go unnoticed",
      );
      return undefined;
    }
  }
}
