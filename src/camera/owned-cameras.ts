/**
 * The cameras this instance owns, when several instances share them (`storage.postgres`): every instance
 * has every camera in its registry (so it can serve any viewer, through the owner), but only the owner
 * runs what must happen once per camera: its event stream into the store, gateway events, backups, log
 * sync, recording. Those parts watch this set; a camera joins it when the lease is taken and leaves it,
 * with its watchers told first, before the lease is given up.
 */
import type { DeviceInfo } from "./api.ts";
import type { CameraEntry, CameraRegistry, CameraSet, RegistryWatcher } from "./registry.ts";

export class OwnedCameras implements CameraSet {
  private readonly ids = new Set<string>();
  private readonly watchers = new Set<RegistryWatcher>();
  private readonly unsubscribe: () => void;

  constructor(private readonly all: CameraRegistry) {
    this.unsubscribe = all.watch({
      health: (entry, health, previous) => {
        if (!this.ids.has(entry.id)) return;
        for (const watcher of this.watchers) watcher.health?.(entry, health, previous);
      },
    });
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** This instance owns the camera now: its watchers start their work on it. */
  take(id: string): void {
    const entry = this.all.get(id);
    if (!entry || this.ids.has(id)) return;
    this.ids.add(id);
    for (const watcher of this.watchers) watcher.added?.(entry);
  }

  /** This instance gives the camera up (or it left the config): its watchers end their work on it. */
  give(id: string): void {
    const entry = this.all.get(id);
    if (!this.ids.delete(id) || !entry) return;
    for (const watcher of this.watchers) watcher.removed?.(entry);
  }

  get(id: string): CameraEntry | undefined {
    return this.ids.has(id) ? this.all.get(id) : undefined;
  }

  list(): CameraEntry[] {
    return this.all.list().filter((entry) => this.ids.has(entry.id));
  }

  watch(watcher: RegistryWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  deviceInfo(id: string): Promise<DeviceInfo> {
    return this.all.deviceInfo(id);
  }

  channelCount(id: string): Promise<number | undefined> {
    return this.all.channelCount(id);
  }

  forgetDeviceInfo(id: string): void {
    this.all.forgetDeviceInfo(id);
  }

  close(): void {
    this.unsubscribe();
  }
}
