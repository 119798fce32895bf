/**
 * The configured cameras, each with its session and API, and a short cache of device info. Cameras come and
 * go at a config reload: parts that keep per-camera state `watch` the registry (added, removed, and every
 * camera's health changes, the later ones' included) instead of walking the list once at start.
 */
import { CameraApi, type DeviceInfo } from "./api.ts";
import { ConnectionBudget } from "./budget.ts";
import { OnvifCamera } from "./onvif/onvif-camera.ts";
import { OnvifPtz } from "./onvif/onvif-ptz.ts";
import { type CameraPtz, PtzController } from "./ptz.ts";
import { CameraSession, type CameraSessionOptions, type Health, type SessionRoute } from "./session.ts";

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
  /** The live wall's groups (display only). */
  groups?: string[];
  mjpeg: { channel: number; subtype: number };
  rtsp: CameraRtsp;
  passthroughPort?: number;
  rtspPassthroughPort?: number;
  onvifPort?: number;
  /** Dahua's CGI (default), or ONVIF with the device service at `onvifDevicePath`. */
  protocol?: "dahua" | "onvif";
  onvifDevicePath?: string;
  /** How a talk reaches the speaker (default `cgi`). */
  talk?: "cgi" | "backchannel";
  session: CameraSessionOptions;
}

export interface CameraEntry {
  id: string;
  name: string;
  /** The live wall's groups (display only). */
  groups: string[];
  mjpeg: { channel: number; subtype: number };
  rtsp: CameraRtsp;
  /** The camera's RTSP sessions, a budget apart from its HTTP connections. */
  rtspBudget: ConnectionBudget;
  passthroughPort: number | undefined;
  rtspPassthroughPort: number | undefined;
  /** camgate's ONVIF device face for this camera (`cameras[].onvifPort`). */
  onvifPort: number | undefined;
  session: CameraSession;
  /** How camgate talks to the camera; Dahua-only parts (CGI passthrough, config, backups, logs, SD card, talk) skip ONVIF cameras. */
  protocol: "dahua" | "onvif";
  /** Dahua's CGI. On an ONVIF camera nothing calls it (its parts check `protocol`). */
  api: CameraApi;
  /** The camera's ONVIF services, for `protocol: onvif`. */
  onvif: OnvifCamera | undefined;
  ptz: CameraPtz;
  /** How hold-to-talk reaches the speaker: audio.cgi, or the RTSP backchannel the owner asked for. */
  talk: "cgi" | "backchannel";
}

export interface RegistryWatcher {
  added?(entry: CameraEntry): void;
  /** Before the camera's session closes: end what uses it. */
  removed?(entry: CameraEntry): void;
  health?(entry: CameraEntry, health: Health, previous: Health): void;
  /** The camera is now reached another way (directly, or through the instance that owns it): reconnect. */
  rerouted?(entry: CameraEntry): void;
}

/**
 * What the parts that work on cameras read of a set of them: the registry itself, or (with several
 * instances) the cameras this instance owns (`OwnedCameras`).
 */
export interface CameraSet {
  get(id: string): CameraEntry | undefined;
  list(): CameraEntry[];
  watch(watcher: RegistryWatcher): () => void;
  deviceInfo(id: string): Promise<DeviceInfo>;
  channelCount(id: string): Promise<number | undefined>;
  forgetDeviceInfo(id: string): void;
}

const INFO_TTL_MS = 10 * 60_000;

export class CameraRegistry implements CameraSet {
  private readonly entries = new Map<string, CameraEntry>();
  private readonly info = new Map<string, { at: number; value: Promise<DeviceInfo> }>();
  private readonly channels = new Map<string, { at: number; value: Promise<number> }>();

  private readonly watchers = new Set<RegistryWatcher>();
  private readonly healthUnsubscribes = new Map<string, () => void>();

  constructor(definitions: readonly CameraDefinition[]) {
    for (const definition of definitions) this.create(definition);
  }

  private create(definition: CameraDefinition): CameraEntry {
    const session = new CameraSession(definition.session);
    const api = new CameraApi(session);
    const onvif =
      definition.protocol === "onvif"
        ? new OnvifCamera(
            session,
            definition.onvifDevicePath ?? "/onvif/device_service",
            definition.rtsp.port,
          )
        : undefined;
    const entry: CameraEntry = {
      id: definition.id,
      name: definition.name,
      groups: definition.groups ?? [],
      mjpeg: definition.mjpeg,
      rtsp: definition.rtsp,
      rtspBudget: new ConnectionBudget(definition.rtsp.maxSessions),
      passthroughPort: definition.passthroughPort,
      rtspPassthroughPort: definition.rtspPassthroughPort,
      onvifPort: definition.onvifPort,
      session,
      protocol: onvif ? "onvif" : "dahua",
      api,
      onvif,
      ptz: onvif ? new OnvifPtz(onvif) : new PtzController(api),
      talk: definition.talk ?? "cgi",
    };
    this.entries.set(definition.id, entry);
    this.healthUnsubscribes.set(
      entry.id,
      session.onHealthChange((health, previous) => {
        for (const watcher of this.watchers) watcher.health?.(entry, health, previous);
      }),
    );
    return entry;
  }

  watch(watcher: RegistryWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** A camera added at a reload; its watchers hear of it at once. */
  add(definition: CameraDefinition): CameraEntry {
    if (this.entries.has(definition.id))
      throw new RangeError(`camera ${definition.id} is already registered`);
    const entry = this.create(definition);
    for (const watcher of this.watchers) watcher.added?.(entry);
    return entry;
  }

  /** A camera removed at a reload: its watchers end what uses it, then its session closes. */
  async remove(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    for (const watcher of this.watchers) watcher.removed?.(entry);
    this.entries.delete(id);
    this.info.delete(id);
    this.channels.delete(id);
    this.healthUnsubscribes.get(id)?.();
    this.healthUnsubscribes.delete(id);
    entry.ptz.close();
    await entry.session.close();
  }

  /**
   * Reach the camera through the instance that owns it (a route), or directly (undefined): its
   * connections end, resolving once they are closed, and its watchers reconnect what they hold.
   */
  async route(id: string, route: SessionRoute | undefined): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry || entry.session.route === route) return;
    this.info.delete(id);
    this.channels.delete(id);
    const closed = entry.session.setRoute(route);
    for (const watcher of this.watchers) watcher.rerouted?.(entry);
    await closed;
  }

  /** The way is the same but leads elsewhere now (the camera's owner changed): its watchers reconnect. */
  reconnect(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    for (const watcher of this.watchers) watcher.rerouted?.(entry);
  }

  /** A change of what is only displayed (the name, the groups) needs no reconnect. */
  relabel(id: string, name: string, groups: string[]): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.name = name;
    entry.groups = groups;
  }

  /** Forget the cached device info (after a change of MachineName, or to learn it again). */
  forgetDeviceInfo(id: string): void {
    this.info.delete(id);
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
    const value = entry.onvif ? entry.onvif.deviceInfo() : entry.api.deviceInfo();
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
    // camgate fronts one video source of an ONVIF camera (its first profiles).
    if (entry.onvif) return 1;
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
