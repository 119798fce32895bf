/**
 * The durable outbox: a delivery row per (event, target) written in the same
 * transaction as the event, so a crash can lose neither. Each target's deliveries go out in order, one at
 * a time; failures back off exponentially from 1 s to 1 h, and after 24 h a delivery is dead-lettered
 * (kept, visible in the API and metrics). A restart resumes with what is pending.
 */
import type { Db } from "../storage/database.ts";

export interface Delivery {
  id: string;
  target: string;
  eventId: string;
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
}

/** What became of one delivery attempt (metrics count these by target). */
export type DeliveryOutcome = "delivered" | "retry" | "dead";

export class Outbox {
  private readonly now: () => number;
  private readonly firstRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly giveUpAfterMs: number;
  private readonly insertRow;
  private readonly headRow;
  private readonly listeners = new Set<(target: string) => void>();
  private readonly outcomeListeners = new Set<(target: string, outcome: DeliveryOutcome) => void>();

  constructor(
    private readonly db: Db,
    options: OutboxOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.firstRetryMs = options.firstRetryMs ?? 1000;
    this.maxRetryMs = options.maxRetryMs ?? 3_600_000;
    this.giveUpAfterMs = options.giveUpAfterMs ?? 24 * 3_600_000;
    this.insertRow = db.prepare(
      "INSERT INTO deliveries (id, target, event_id, state, attempts, next_at, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
    );
    this.headRow = db.prepare(
      "SELECT * FROM deliveries WHERE target = ? AND state = 'pending' ORDER BY id LIMIT 1",
    );
  }

  /** Adds a delivery; call inside the transaction that stores the event. The id is stable across retries. */
  enqueue(target: string, eventId: string): void {
    const now = this.now();
    this.insertRow.run(`${eventId}.${target}`, target, eventId, now, now);
  }

  /** Tells workers that `target` has new work (after the event's transaction committed). */
  notify(target: string): void {
    for (const listener of this.listeners) listener(target);
  }

  onWork(listener: (target: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The oldest pending delivery of a target: it goes first, and the others wait for it (order kept). */
  head(target: string): Delivery | undefined {
    const row = this.headRow.get(target) as Row | undefined;
    return row ? toDelivery(row) : undefined;
  }

  delivered(delivery: Pick<Delivery, "id" | "target">): void {
    this.db
      .prepare("UPDATE deliveries SET state = 'delivered', delivered_at = ?, last_error = NULL WHERE id = ?")
      .run(this.now(), delivery.id);
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

  /** Schedules a retry with backoff, or dead-letters after the give-up time. Returns the new state. */
  failed(delivery: Delivery, error: string): Delivery["state"] {
    const attempts = delivery.attempts + 1;
    const now = this.now();
    if (now - delivery.createdAt >= this.giveUpAfterMs) {
      this.db
        .prepare("UPDATE deliveries SET state = 'dead', attempts = ?, last_error = ? WHERE id = ?")
        .run(attempts, error.slice(0, 500), delivery.id);
      this.report(delivery.target, "dead");
      return "dead";
    }
    const delay = Math.min(this.firstRetryMs * 2 ** (attempts - 1), this.maxRetryMs);
    this.db
      .prepare("UPDATE deliveries SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?")
      .run(attempts, now + delay, error.slice(0, 500), delivery.id);
    this.report(delivery.target, "retry");
    return "pending";
  }

  /** Counts by target and state (for the API and metrics). */
  summary(): { target: string; state: string; count: number; oldestPendingAt: number | null }[] {
    return this.db
      .prepare(
        "SELECT target, state, COUNT(*) AS count, MIN(CASE WHEN state = 'pending' THEN created_at END) AS oldestPendingAt FROM deliveries GROUP BY target, state ORDER BY target, state",
      )
      .all() as { target: string; state: string; count: number; oldestPendingAt: number | null }[];
  }

  list(state: Delivery["state"], limit = 100): Delivery[] {
    return (
      this.db
        .prepare("SELECT * FROM deliveries WHERE state = ? ORDER BY id DESC LIMIT ?")
        .all(state, limit) as Row[]
    ).map(toDelivery);
  }

  /** Forgets delivered rows older than `maxAgeMs` (dead ones stay until retried or removed). */
  prune(maxAgeMs: number): void {
    this.db
      .prepare("DELETE FROM deliveries WHERE state = 'delivered' AND delivered_at < ?")
      .run(this.now() - maxAgeMs);
  }
}
