/**
 * The reconnect loop every upstream shares: only a connection that held resets the backoff, so a camera
 * that answers and hangs up at once backs off like one that refuses (issue 27), while a connection lost
 * after it held is retried at once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CameraError } from "../../src/camera/errors.ts";
import { StreamLoop } from "../../src/camera/stream-loop.ts";
import type { StreamDown } from "../../src/camera/stream-status.ts";

const ENDED: StreamDown = { code: "ended", error: new CameraError("unreachable", "cam", "closed") };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A loop whose every connection answers, then fails after `upMs`; returns the attempt times. */
function run(upMs: number, forMs: number, backoffMaxMs = 30_000): number[] {
  const attempts: number[] = [];
  const loop: StreamLoop = new StreamLoop({
    connect: async (generation) => {
      attempts.push(Date.now());
      loop.succeeded();
      setTimeout(() => {
        if (loop.isCurrent(generation)) loop.fail(ENDED);
      }, upMs);
    },
    release: () => {},
    backoffMaxMs,
  });
  const start = Date.now();
  loop.start();
  vi.advanceTimersByTime(forMs);
  loop.stop();
  return attempts.map((at) => at - start);
}

describe("StreamLoop", () => {
  it("backs off from a camera that answers and hangs up at once, as from one that refuses", () => {
    const attempts = run(10, 60_000);
    // 1, 2, 4, 8, 16, 30 s apart: 6 to 7 attempts a minute, not 60.
    expect(attempts.length).toBeLessThanOrEqual(7);
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] ?? 0));
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeGreaterThan(gaps[i - 1] ?? 0);
  });

  it("retries a connection lost after it held at once, and starts the backoff over", () => {
    const attempts = run(15_000, 60_000);
    // Each connection holds 15 s and is retried 200 ms after it drops: 4 in a minute.
    expect(attempts).toHaveLength(4);
    expect((attempts[1] ?? 0) - (attempts[0] ?? 0)).toBe(15_200);
  });

  it("keeps a failure's backoff across a stop and a start", () => {
    let attempts = 0;
    const loop: StreamLoop = new StreamLoop({
      connect: async () => {
        attempts++;
        loop.fail(ENDED);
      },
      release: () => {},
    });
    loop.start();
    vi.advanceTimersByTime(3100);
    expect(attempts).toBe(3); // at 0, 1 and 3 s; the next waits 4 s
    loop.stop();
    loop.start();
    expect(attempts).toBe(3);
    vi.advanceTimersByTime(4000);
    expect(attempts).toBe(4);
    loop.stop();
  });
});
