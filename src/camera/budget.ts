/**
 * The connection budget of one camera: at most `max` upstream sockets at once, counted across every feature.
 * Further requests wait in a queue with a deadline; interactive requests (PTZ, passthrough) go ahead of
 * background ones (backups, log sync).
 */

export type Priority = "interactive" | "background";

export interface BudgetSlot {
  /** Which of the `max` slots this is (0-based): the lowest free one, so sequential work reuses slot 0. */
  readonly index: number;
  /** Gives the slot back; calling it again does nothing. */
  release(): void;
}

interface Waiter {
  grant: (slot: BudgetSlot) => void;
  fail: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class BudgetTimeoutError extends Error {
  constructor(readonly waitedMs: number) {
    super(`no upstream connection free within ${waitedMs} ms`);
    this.name = "BudgetTimeoutError";
  }
}

export class ConnectionBudget {
  private used = 0;
  /** Which slot indexes are taken. */
  private readonly taken: boolean[];
  private readonly queues: Record<Priority, Waiter[]> = { interactive: [], background: [] };
  /** Total time requests spent queued, for metrics. */
  waitedMsTotal = 0;
  peak = 0;

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new RangeError("maxConnections must be at least 1");
    this.taken = new Array<boolean>(max).fill(false);
  }

  get inUse(): number {
    return this.used;
  }

  get queued(): number {
    return this.queues.interactive.length + this.queues.background.length;
  }

  acquire(priority: Priority, deadlineMs: number, signal?: AbortSignal): Promise<BudgetSlot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.used < this.max && this.queued === 0) return Promise.resolve(this.take());
    const started = Date.now();
    return new Promise<BudgetSlot>((resolve, reject) => {
      const queue = this.queues[priority];
      const waiter: Waiter = {
        grant: (slot) => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener("abort", onAbort);
          this.waitedMsTotal += Date.now() - started;
          resolve(slot);
        },
        fail: (error) => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener("abort", onAbort);
          const index = queue.indexOf(waiter);
          if (index >= 0) queue.splice(index, 1);
          reject(error);
        },
        timer: setTimeout(() => waiter.fail(new BudgetTimeoutError(Date.now() - started)), deadlineMs),
      };
      const onAbort = () =>
        waiter.fail(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(waiter);
    });
  }

  private take(): BudgetSlot {
    this.used++;
    this.peak = Math.max(this.peak, this.used);
    const index = this.taken.indexOf(false);
    this.taken[index] = true;
    let released = false;
    return {
      index,
      release: () => {
        if (released) return;
        released = true;
        this.used--;
        this.taken[index] = false;
        const next = this.queues.interactive.shift() ?? this.queues.background.shift();
        if (next) next.grant(this.take());
      },
    };
  }
}
