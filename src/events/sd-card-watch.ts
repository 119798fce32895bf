/**
 * The SD card's health (issue 27): `storageDevice.cgi?action=getDeviceAllInfo` read every
 * `events.sdCard.checkSeconds` from each camera this instance owns, kept for the camera's status and the UI,
 * and a gateway event when it changes for the worse or gets better:
 *
 * - `SdCardError`: the camera says a card or partition is failing (`IsError=true`, `State=Failure`);
 * - `SdCardFull`: used crosses `events.sdCard.fullPercent` (a card set to overwrite fills once and stays
 *   full; the event says it once, not at every check);
 * - `SdCardMissing`: a card that was there is gone (a camera that never had one says nothing);
 * - `SdCardOk`: back to a working card after one of those.
 *
 * One request per camera per check, at background priority, one camera at a time, only to cameras whose
 * session is online (an offline or refused camera is not asked, so the check never costs a login). A camera
 * that does not know the CGI (an Error body) is marked `unsupported` and not asked again.
 */
import type { Logger } from "pino";
import { CameraError } from "../camera/errors.ts";
import type { CameraEntry, CameraSet } from "../camera/registry.ts";
import { parseStorageInfo, type StorageDevice } from "../protocol/storage-info.ts";
import { errorText } from "../util/error-text.ts";
import type { EventPublisher } from "./publisher.ts";

export type SdCardState = "ok" | "full" | "error" | "missing" | "unsupported";

export interface SdCardStatus {
  state: SdCardState;
  checkedAt: number;
  totalBytes: number;
  usedBytes: number;
  /** Used ÷ total in percent, one decimal; null without a size. */
  usedPercent: number | null;
  devices: StorageDevice[];
}

export interface SdCardWatchOptions {
  cameras: CameraSet;
  publisher: EventPublisher;
  logger: Logger;
  /** Between checks (0: never). */
  intervalMs: number;
  fullPercent: number;
  /** The first check this long after start (default: the interval, at most 30 s). */
  firstCheckMs?: number;
}

const EVENT_OF: Partial<Record<SdCardState, string>> = {
  error: "SdCardError",
  full: "SdCardFull",
  missing: "SdCardMissing",
};

export class SdCardWatch {
  private readonly statuses = new Map<string, SdCardStatus>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: SdCardWatchOptions) {}

  start(): void {
    if (this.options.intervalMs <= 0) return;
    this.unsubscribe = this.options.cameras.watch({ removed: (entry) => this.statuses.delete(entry.id) });
    this.schedule(this.options.firstCheckMs ?? Math.min(this.options.intervalMs, 30_000));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    await this.running;
  }

  /** The card's health as last read, if this instance has read it. */
  status(camera: string): SdCardStatus | undefined {
    return this.statuses.get(camera);
  }

  /** Reads every owned camera's card now (also what the timer does). */
  async checkAll(): Promise<void> {
    for (const entry of this.options.cameras.list()) {
      if (this.stopped) return;
      if (entry.protocol !== "dahua" || entry.session.getHealth().state !== "online") continue;
      if (this.statuses.get(entry.id)?.state === "unsupported") continue;
      await this.check(entry);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.checkAll().finally(() => {
        this.running = undefined;
        this.schedule(this.options.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async check(entry: CameraEntry): Promise<void> {
    let body: string;
    try {
      body = await entry.api.cgi(
        entry.api.targetFor("storageDevice.cgi", [["action", "getDeviceAllInfo"]]),
        "background",
      );
    } catch (error) {
      if (error instanceof CameraError && error.code === "unsupported") {
        this.statuses.set(entry.id, { ...this.empty(), state: "unsupported" });
        entry.session.info("the camera has no storageDevice.cgi; its SD card is not checked", {});
      } else entry.session.warn("could not read the SD card's health", { err: errorText(error) });
      return;
    }
    const info = parseStorageInfo(body);
    const usedPercent =
      info.totalBytes > 0 ? Math.round((info.usedBytes / info.totalBytes) * 1000) / 10 : null;
    const state: SdCardState =
      info.state !== "ok"
        ? info.state
        : usedPercent !== null && usedPercent >= this.options.fullPercent
          ? "full"
          : "ok";
    const previous = this.statuses.get(entry.id);
    const status = { ...info, state, usedPercent, checkedAt: Date.now() };
    this.statuses.set(entry.id, status);
    this.announce(entry.id, previous, status);
  }

  private announce(camera: string, previous: SdCardStatus | undefined, status: SdCardStatus): void {
    if (previous?.state === status.state) return;
    const data = {
      totalBytes: status.totalBytes,
      usedBytes: status.usedBytes,
      usedPercent: status.usedPercent,
      devices: status.devices.map((device) => ({
        name: device.name,
        state: device.cameraState ?? null,
        error: device.error,
      })),
    };
    // A camera that never had a card is not news; one whose card went away is.
    if (status.state === "missing" && (previous === undefined || previous.state === "unsupported")) return;
    const code = EVENT_OF[status.state] ?? (previous !== undefined ? "SdCardOk" : undefined);
    if (code === undefined) return;
    this.options.logger.info(
      { camera, state: status.state, after: previous?.state ?? null },
      `SD card: ${code}`,
    );
    void this.options.publisher.gatewayEvent(camera, code, { ...data, after: previous?.state ?? null });
  }

  private empty(): SdCardStatus {
    return {
      state: "missing",
      checkedAt: Date.now(),
      totalBytes: 0,
      usedBytes: 0,
      usedPercent: null,
      devices: [],
    };
  }
}
