/** The configured cameras, each with its session and API, and a short cache of device info. */
import { CameraApi, type DeviceInfo } from "./api.ts";
import { ConnectionBudget } from "./budget.ts";
import { PtzController } from "./ptz.ts";
import { CameraSession, type CameraSessionOptions } from "./session.ts";

/** Where the camera's RTSP is, and how much of it camgate may use. */
export interface CameraRtsp {
  host: string;
  port: number;
  maxSessions: number;
  /** Paths of the main and sub stream. */
  main: string;
  sub: string;
}

export interface CameraDefinition {
  id: string;
  name: string;
  mjpeg: { channel: number; subtype: number };
  rtsp: CameraRtsp;
  passthroughPort?: number;
  rtspPassthroughPort?: number;
  session: CameraSessionOptions;
}

export interface CameraEntry {
  id: string;
  name: string;
  mjpeg: { channel: number; subtype: number };
  rtsp: CameraRtsp;
  /** The camera's RTSP sessions, a budget apart from its HTTP connections. */
  rtspBudget: ConnectionBudget;
  passthroughPort: number | undefined;
  rtspPassthroughPort: number | undefined;
  session: CameraSession;
  api: CameraApi;
  ptz: PtzController;
}

const INFO_TTL_MS = 10 * 60_000;

export class CameraRegistry {
  private readonly entries = new Map<string, CameraEntry>();
  private readonly info = new Map<string, { at: number; value: Promise<DeviceInfo> }>();
  private readonly channels = new Map<string, { at: number; value: Promise<number> }>();

  constructor(definitions: readonly CameraDefinition[]) {
    for (const definition of definitions) {
      const session = new CameraSession(definition.session);
      const api = new CameraApi(session);
      this.entries.set(definition.id, {
        id: definition.id,
        name: definition.name,
        mjpeg: definition.mjpeg,
        rtsp: definition.rtsp,
        rtspBudget: new ConnectionBudget(definition.rtsp.maxSessions),
        passthroughPort: definition.passthroughPort,
        rtspPassthroughPort: definition.rtspPassthroughPort,
        session,
        api,
        ptz: new PtzController(api),
      });
    }
  }

  get(id: string): CameraEntry | undefined {
    return this.entries.get(id);
  }

  list(): CameraEntry[] {
    return [...this.entries.values()];
  }

  /** Device info, fetched once per 10 minutes per camera (concurrent callers share one fetch). */
  deviceInfo(id: string): Promise<DeviceInfo> {
    const entry = this.entries.get(id);
    if (!entry) return Promise.reject(new RangeError(`no camera ${id} in the registry`));
    const cached = this.info.get(id);
    if (cached && Date.now() - cached.at < INFO_TTL_MS) return cached.value;
    const value = entry.api.deviceInfo();
    this.info.set(id, { at: Date.now(), value });
    value.catch(() => this.info.delete(id));
    return value;
  }

  /**
   * How many video channels the camera has (its `ChannelTitle` entries), fetched once per 10 minutes;
   * undefined while it cannot say (offline, or firmware without the section).
   */
  async channelCount(id: string): Promise<number | undefined> {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const cached = this.channels.get(id);
    if (!cached || Date.now() - cached.at >= INFO_TTL_MS) {
      const value = entry.api.channelCount();
      this.channels.set(id, { at: Date.now(), value });
      value.catch(() => this.channels.delete(id));
    }
    try {
      return await (this.channels.get(id)?.value ?? entry.api.channelCount());
    } catch (error) {
      entry.session.warn("could not learn how many channels the camera has", {
        err: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }

  async close(): Promise<void> {
    for (const entry of this.list()) entry.ptz.close();
    await Promise.all(this.list().map((entry) => entry.session.close()));
  }
}
