/**
 * The durable outbox: a delivery row per (event, target) written in the same transaction as the event, so a
 * crash can lose neither. A worker *claims* a delivery before sending it: only the oldest pending delivery
 * of a (target, camera) can be claimed, and only while nobody else's claim on it runs, so each camera's
 * events reach a target in order and, with several instances on one PostgreSQL (`FOR UPDATE SKIP LOCKED`),
 * each delivery is sent by one of them. A claim lapses after `claimMs`, so the deliveries of an instance
 * that died mid-send are sent by another (the receiver sees the same delivery id again: at least once,
 * once in every run without a crash mid-send). Failures back off exponentially from 1 s to 1 h, and after
 * 24 h a delivery is dead-lettered (kept, visible in the API and metrics). A restart resumes with what is
 * pending.
 */
import type { Sql } from "../storage/sql.ts";

export interface Delivery {
  id: string;
  target: string;
  eventId: string;
  camera: string;
  state: "pending" | "delivered" | "dead";
  attempts: number;
  nextAt: number;
  createdAt: number;
  deliveredAt: number | null;
  lastError: string | null;
}

interface Row {
  id: string;
  target: string;
  event_id: string;
  camera: string;
  state: Delivery["state"];
  attempts: number;
  next_at: number;
  created_at: number;
  delivered_at: number | null;
  last_error: string | null;
}

const toDelivery = (row: Row): Delivery => ({
  id: row.id,
  target: row.target,
  eventId: row.event_id,
  camera: row.camera,
  state: row.state,
  attempts: row.attempts,
  nextAt: row.next_at,
  createdAt: row.created_at,
  deliveredAt: row.delivered_at,
  lastError: row.last_error,
});

export interface OutboxOptions {
  firstRetryMs?: number;
  maxRetryMs?: number;
  giveUpAfterMs?: number;
  now?: () => number;
  /** Who claims (the cluster instance); default "local". */
  claimant?: string;
}

/** What became of one delivery attempt (metrics count these by target). */
export type DeliveryOutcome = "delivered" | "retry" | "dead";

/** `d` heads its camera's queue for its target: no earlier delivery of that camera is still pending. */
const NOT_BEHIND = `NOT EXISTS (SELECT 1 FROM deliveries e
   WHERE e.target = d.target AND e.camera = d.camera AND e.state = 'pending' AND e.id < d.id)`;

/**
 * The oldest due, unclaimed delivery of a target that heads its camera's queue; `?`s: target, now, now,
 * then the cameras when `only` lists them.
 */
const claimable = (only: number | undefined) => `SELECT d.id FROM deliveries d
   WHERE d.target = ? AND d.state = 'pending' AND d.next_at <= ?
     AND (d.claimed_until IS NULL OR d.claimed_until < ?) AND ${NOT_BEHIND}
     ${only === undefined ? "" : `AND d.camera IN (${Array.from({ length: only }, () => "?").join(",") || "NULL"})`}
   ORDER BY d.id LIMIT 1`;

export class Outbox {
  private readonly now: () => number;
  private readonly firstRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly giveUpAfterMs: number;
  private readonly claimant: string;
  private readonly listeners = new Set<(target: string) => void>();
  private readonly outcomeListeners = new Set<(target: string, outcome: DeliveryOutcome) => void>();

  constructor(
    private readonly sql: Sql,
    options: OutboxOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.firstRetryMs = options.firstRetryMs ?? 1000;
    this.maxRetryMs = options.maxRetryMs ?? 3_600_000;
    this.giveUpAfterMs = options.giveUpAfterMs ?? 24 * 3_600_000;
    this.claimant = options.claimant ?? "local";
  }

  /** Adds a delivery inside the event's transaction `tx`. The id is stable across retries. */
  async enqueue(tx: Sql, target: string, event: { id: string; camera: string }): Promise<void> {
    const now = this.now();
    await tx.run(
      "INSERT INTO deliveries (id, target, event_id, camera, state, attempts, next_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
      [`${event.id}.${target}`, target, event.id, event.camera, now, now],
    );
  }

  /**
   * At start: claims this claimant's previous run held (it was killed mid-send) end now rather than at
   * their expiry; those deliveries are sent again (the receiver sees the same delivery id).
   */
  async releaseOwnClaims(): Promise<number> {
    return this.sql.run(
      "UPDATE deliveries SET claimed_until = NULL WHERE claimed_by = ? AND state = 'pending' AND claimed_until IS NOT NULL",
      [this.claimant],
    );
  }

  /** Tells workers that `target` has new work (after the event's transaction committed). */
  notify(target: string): void {
    for (const listener of this.listeners) listener(target);
  }

  onWork(listener: (target: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Claims the next delivery of `target` for `claimMs`: the oldest due one that heads its camera's queue and
   * nobody else holds, of the cameras `only` lists when it is given. Undefined when there is none now.
   */
  async claim(target: string, claimMs: number, only?: readonly string[]): Promise<Delivery | undefined> {
    const now = this.now();
    const lock = this.sql.dialect === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
    const row = await this.sql.get<Row>(
      `UPDATE deliveries SET claimed_by = ?, claimed_until = ? WHERE id = (${claimable(only?.length)}${lock}) RETURNING *`,
      [this.claimant, now + claimMs, target, now, now, ...(only ?? [])],
    );
    return row ? toDelivery(row) : undefined;
  }

  /** When the target's next claimable delivery falls due (for a worker with nothing to claim now). */
  async nextDue(target: string, only?: readonly string[]): Promise<number | undefined> {
    const cameras = only === undefined ? "" : `AND d.camera IN (${only.map(() => "?").join(",") || "NULL"})`;
    const row = await this.sql.get<{ at: number | null }>(
      `SELECT MIN(CASE WHEN d.claimed_until IS NULL OR d.claimed_until < d.next_at THEN d.next_at ELSE d.claimed_until END) AS at
         FROM deliveries d WHERE d.target = ? AND d.state = 'pending' AND ${NOT_BEHIND} ${cameras}`,
      [target, ...(only ?? [])],
    );
    return row?.at ?? undefined;
  }

  async delivered(delivery: Pick<Delivery, "id" | "target">): Promise<void> {
    await this.sql.run(
      "UPDATE deliveries SET state = 'delivered', delivered_at = ?, last_error = NULL, claimed_until = NULL WHERE id = ? AND state = 'pending'",
      [this.now(), delivery.id],
    );
    this.report(delivery.target, "delivered");
  }

  /** Hears every attempt's outcome. */
  onOutcome(listener: (target: string, outcome: DeliveryOutcome) => void): () => void {
    this.outcomeListeners.add(listener);
    return () => this.outcomeListeners.delete(listener);
  }

  private report(target: string, outcome: DeliveryOutcome): void {
    for (const listener of this.outcomeListeners) listener(target, outcome);
  }

  /** Schedules a retry with backoff, or dead-letters after the give-up time. Resolves with the new state. */
  async failed(delivery: Delivery, error: string): Promise<Delivery["state"]> {
    const attempts = delivery.attempts + 1;
    const now = this.now();
    if (now - delivery.createdAt >= this.giveUpAfterMs) {
      await this.sql.run(
        "UPDATE deliveries SET state = 'dead', attempts = ?, last_error = ?, claimed_until = NULL WHERE id = ?",
        [attempts, error.slice(0, 500), delivery.id],
      );
      this.report(delivery.target, "dead");
      return "dead";
    }
    const delay = Math.min(this.firstRetryMs * 2 ** (attempts - 1), this.maxRetryMs);
    await this.sql.run(
      "UPDATE deliveries SET attempts = ?, next_at = ?, last_error = ?, claimed_until = NULL WHERE id = ?",
      [attempts, now + delay, error.slice(0, 500), delivery.id],
    );
    this.report(delivery.target, "retry");
    return "pending";
  }

  /** Counts by target and state (for the API and metrics). */
  summary(): Promise<{ target: string; state: string; count: number; oldestPendingAt: number | null }[]> {
    return this.sql.all(
      `SELECT target, state, COUNT(*) AS count, MIN(CASE WHEN state = 'pending' THEN created_at END) AS "oldestPendingAt" FROM deliveries GROUP BY target, state ORDER BY target, state`,
    );
  }

  async list(state: Delivery["state"], limit = 100): Promise<Delivery[]> {
    const rows = await this.sql.all<Row>(
      "SELECT * FROM deliveries WHERE state = ? ORDER BY id DESC LIMIT ?",
      [state, limit],
    );
    return rows.map(toDelivery);
  }

  /** Forgets delivered rows older than `maxAgeMs` (dead ones stay until retried or removed). */
  async prune(maxAgeMs: number): Promise<void> {
    await this.sql.run("DELETE FROM deliveries WHERE state = 'delivered' AND delivered_at < ?", [
      this.now() - maxAgeMs,
    ]);
  }
}
