/**
 * One instance's part in sharing the cameras: each heartbeat it says it is alive (`cluster_instances`),
 * reads who else is, works out by rendezvous hashing which cameras it should own, takes or renews those
 * leases, and gives up the ones another live instance should have, *after* it stopped using them
 * (`onLost` resolves), so no camera ever has two sessions. A lease a renewal finds taken means the camera
 * is lost at once. An instance that cannot reach the database stops using every camera before its leases
 * can lapse (it fences itself), since another instance will take them then: each camera has a local
 * deadline, 70% of the TTL after its last renewal was *sent*, so it fires before the database's expiry
 * however late the next heartbeat is (a slow database); a heartbeat due at that moment (a paused process
 * that resumed) may still renew the lease up to 90% of it, and only then is the camera let go.
 */
import type pg from "pg";
import { CameraLeases } from "./leases.ts";
import type { ClusterMap, InstanceAddress } from "./peer-directory.ts";
import { ownerOf } from "./rendezvous.ts";

/**
 * The local deadline after a renewal was sent, as a share of the lease: past it a heartbeat is due at once;
 * past the last chance the camera is let go (fenced) whatever comes, leaving the rest of the lease to close
 * its sessions before another instance may take it.
 */
const FENCE_AT = 0.7;
const LAST_CHANCE = 0.9;

export interface CoordinatorOptions {
  pool: pg.Pool;
  instance: string;
  /** How long a lease and an instance's heartbeat live (default 6 s). */
  ttlMs?: number;
  /** The cameras every instance reads from the same config. */
  cameras: () => readonly string[];
  /** This instance now owns the camera under this fencing token: open its sessions. */
  onGained: (camera: string, token: bigint) => void | Promise<void>;
  /** This instance no longer owns the camera: close its sessions before resolving. */
  onLost: (camera: string, reason: "rebalanced" | "taken" | "fenced" | "stopped") => void | Promise<void>;
  /** Something the coordinator could not do (the database away): logged by the caller. */
  onError?: (error: unknown) => void;
  /** Where the other instances reach this one (the hop to the cameras it owns). */
  advertise?: InstanceAddress;
  /** Each heartbeat's view of who owns which camera and where each instance is. */
  onMap?: (map: ClusterMap) => void;
}

export interface ClusterView {
  /** The instance that answered. */
  instance: string;
  instances: { id: string; startedAt: string; seenAt: string; cameras: string[] }[];
  leases: {
    camera: string;
    owner: string;
    /** The fencing token, as a decimal string (it is a 64-bit number). */
    token: string;
    acquiredAt: string;
    expiresAt: string;
    /** How long the current owner has held the camera. */
    ageSeconds: number;
  }[];
}

export class ClusterCoordinator {
  readonly leases: CameraLeases;
  /** camera → the token of this instance's tenure. */
  readonly owned = new Map<string, bigint>();
  private readonly ttlMs: number;
  /** camera → the local deadline by which its lease must have been renewed again. */
  private readonly deadlines = new Map<string, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** For metrics: heartbeats, ownership changes, and the last heartbeat that reached the database. */
  readonly stats = { beats: 0, failedBeats: 0, gained: 0, lost: 0, lastBeatAt: 0, instances: 0 };

  constructor(private readonly options: CoordinatorOptions) {
    this.ttlMs = options.ttlMs ?? 6000;
    this.leases = new CameraLeases(options.pool, options.instance, this.ttlMs);
  }

  get instance(): string {
    return this.options.instance;
  }

  /**
   * Heartbeats every third of the TTL, one at a time; resolves after the first, so an instance that says it
   * started has taken its share (a lone instance all of its cameras).
   */
  start(): Promise<void> {
    const beat = () => {
      this.timer = setTimeout(
        () => {
          void this.tick().finally(() => {
            if (!this.stopped) beat();
          });
        },
        Math.max(50, Math.floor(this.ttlMs / 3)),
      );
    };
    return this.tick().finally(() => {
      if (!this.stopped) beat();
    });
  }

  /** One heartbeat; concurrent callers share it. */
  tick(): Promise<void> {
    this.running ??= this.beat().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    let live: string[];
    let instances: Map<string, InstanceAddress>;
    try {
      const advertise = this.options.advertise;
      await this.leases.query(
        `INSERT INTO cluster_instances (id, expires_at, http_url, rtsp_url)
           VALUES ($1, now() + $2 * interval '1 millisecond', $3, $4)
         ON CONFLICT (id) DO UPDATE SET seen_at = now(), expires_at = EXCLUDED.expires_at,
           http_url = EXCLUDED.http_url, rtsp_url = EXCLUDED.rtsp_url`,
        [this.instance, this.ttlMs, advertise?.http ?? null, advertise?.rtsp ?? null],
      );
      const rows = await this.leases.query<{
        id: string;
        http_url: string | null;
        rtsp_url: string | null;
      }>("SELECT id, http_url, rtsp_url FROM cluster_instances WHERE expires_at > now() ORDER BY id");
      live = rows.rows.map((row) => row.id);
      this.stats.beats++;
      this.stats.lastBeatAt = Date.now();
      this.stats.instances = live.length;
      instances = new Map(
        rows.rows.flatMap((row) =>
          row.http_url ? [[row.id, { http: row.http_url, rtsp: row.rtsp_url ?? undefined }] as const] : [],
        ),
      );
    } catch (error) {
      return this.unreachable(error);
    }
    const cameras = new Set(this.options.cameras());
    for (const camera of new Set([...cameras, ...this.owned.keys()])) {
      if (this.stopped) return;
      const should = cameras.has(camera) && ownerOf(camera, live) === this.instance;
      const token = this.owned.get(camera);
      try {
        if (should) {
          const sentAt = Date.now();
          const now = await this.leases.acquire(camera);
          if (now !== undefined) this.armDeadline(camera, sentAt);
          if (now !== undefined && token === undefined) {
            this.owned.set(camera, now);
            this.stats.gained++;
            await this.options.onGained(camera, now);
          } else if (now === undefined && token !== undefined) {
            await this.lose(camera, "taken");
          } else if (now !== undefined && token !== undefined && now !== token) {
            // Our lease lapsed and we took it again: a new tenure, the old one's actions are void.
            await this.lose(camera, "taken");
            this.armDeadline(camera, sentAt);
            this.owned.set(camera, now);
            await this.options.onGained(camera, now);
          }
        } else if (token !== undefined) {
          await this.lose(camera, "rebalanced");
          await this.leases.release(camera, token);
        }
      } catch (error) {
        return this.unreachable(error);
      }
    }
    await this.publishMap(instances);
  }

  /** Who owns what now, for the hop to cameras owned elsewhere. */
  private async publishMap(instances: Map<string, InstanceAddress>): Promise<void> {
    if (!this.options.onMap) return;
    try {
      const leases = await this.leases.list();
      this.options.onMap({ owners: new Map(leases.map((lease) => [lease.camera, lease.owner])), instances });
    } catch (error) {
      this.unreachable(error);
    }
  }

  private armDeadline(camera: string, sentAt: number): void {
    clearTimeout(this.deadlines.get(camera));
    const timer: NodeJS.Timeout = setTimeout(
      () => void this.deadlinePassed(camera, timer, sentAt),
      Math.max(0, sentAt + this.ttlMs * FENCE_AT - Date.now()),
    );
    timer.unref();
    this.deadlines.set(camera, timer);
  }

  /**
   * The camera's lease was not renewed in time. A process that was paused (SIGSTOP, a VM frozen, a long GC)
   * resumes with its heartbeat and this deadline due together; the heartbeat, due earlier, has started and
   * may still renew the lease, good until `sentAt + ttl`: wait for that heartbeat until LAST_CHANCE of the
   * lease (what is left is for closing the sessions), and fence only if it did not renew this camera by
   * then (issue 29). With no heartbeat under way (the database away, the loop stuck) it fences at once.
   */
  private async deadlinePassed(camera: string, timer: NodeJS.Timeout, sentAt: number): Promise<void> {
    const current = () => this.deadlines.get(camera) === timer && this.owned.has(camera);
    if (!current()) return;
    const beat = this.running;
    const left = sentAt + this.ttlMs * LAST_CHANCE - Date.now();
    if (beat && left > 0) {
      let wait: NodeJS.Timeout | undefined;
      await Promise.race([
        beat.catch(() => undefined),
        new Promise<void>((resolve) => {
          wait = setTimeout(resolve, left);
        }),
      ]);
      clearTimeout(wait);
    }
    if (current()) await this.lose(camera, "fenced");
  }

  private async lose(camera: string, reason: "rebalanced" | "taken" | "fenced" | "stopped"): Promise<void> {
    clearTimeout(this.deadlines.get(camera));
    this.deadlines.delete(camera);
    if (!this.owned.delete(camera)) return;
    this.stats.lost++;
    await this.options.onLost(camera, reason);
  }

  /** The database is away: the deadlines let go of each camera before its lease can lapse. */
  private unreachable(error: unknown): void {
    this.stats.failedBeats++;
    this.options.onError?.(error);
  }

  /** The cluster as the database sees it now: live instances and their leases (`GET /api/v1/cluster`). */
  async view(): Promise<ClusterView> {
    const instances = await this.leases.query<{ id: string; started_at: Date; seen_at: Date }>(
      "SELECT id, started_at, seen_at FROM cluster_instances WHERE expires_at > now() ORDER BY id",
    );
    const leases = await this.leases.query<{
      camera: string;
      owner: string;
      token: string;
      acquired_at: Date;
      expires_at: Date;
      age: number;
    }>(
      `SELECT camera, owner, token, acquired_at, expires_at,
              EXTRACT(EPOCH FROM now() - acquired_at)::float8 AS age
         FROM camera_leases WHERE expires_at > now() ORDER BY camera`,
    );
    return {
      instance: this.instance,
      instances: instances.rows.map((row) => ({
        id: row.id,
        startedAt: row.started_at.toISOString(),
        seenAt: row.seen_at.toISOString(),
        cameras: leases.rows.filter((lease) => lease.owner === row.id).map((lease) => lease.camera),
      })),
      leases: leases.rows.map((row) => ({
        camera: row.camera,
        owner: row.owner,
        token: row.token,
        acquiredAt: row.acquired_at.toISOString(),
        expiresAt: row.expires_at.toISOString(),
        ageSeconds: Math.round(row.age * 10) / 10,
      })),
    };
  }

  /** A clean leave: every camera closed and its lease given up, so the others take them at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    for (const [camera, token] of [...this.owned]) {
      await this.lose(camera, "stopped");
      await this.leases.release(camera, token).catch((error: unknown) => this.options.onError?.(error));
    }
    await this.leases
      .query("DELETE FROM cluster_instances WHERE id = $1", [this.instance])
      .catch((error: unknown) => this.options.onError?.(error));
  }
}
