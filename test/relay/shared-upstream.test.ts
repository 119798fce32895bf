/**
 * The readers of one upstream, shared by the three hubs (issue 29): the upstream starts with the first
 * reader, stops a linger after the last, stays for a reader who comes back within the linger, never stops
 * while preloaded, and takes no reader once closed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SharedUpstream } from "../../src/relay/shared-upstream.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function upstream(preload = false) {
  const journal: string[] = [];
  const shared = new SharedUpstream<string>({
    lingerMs: 1000,
    preload,
    start: () => journal.push("start"),
    stop: () => journal.push("stop"),
  });
  return { shared, journal };
}

describe("SharedUpstream", () => {
  it("starts with the first reader and stops a linger after the last one leaves", () => {
    const { shared, journal } = upstream();
    shared.add("a");
    shared.add("b");
    shared.remove("a");
    shared.remove("b");
    vi.advanceTimersByTime(999);
    expect(journal.filter((step) => step === "stop")).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(journal.at(-1)).toBe("stop");
  });

  it("stays open for a reader who comes back within the linger", () => {
    const { shared, journal } = upstream();
    shared.add("a");
    shared.remove("a");
    vi.advanceTimersByTime(500);
    shared.add("a");
    vi.advanceTimersByTime(5000);
    expect(journal).not.toContain("stop");
  });

  it("never stops a preloaded upstream for lack of readers, and takes nobody once closed", () => {
    const { shared, journal } = upstream(true);
    shared.openPreloaded();
    shared.add("a");
    shared.remove("a");
    vi.advanceTimersByTime(5000);
    expect(journal).not.toContain("stop");
    shared.close();
    expect(journal.at(-1)).toBe("stop");
    expect(shared.add("b")).toBe(false);
    expect(shared.size).toBe(0);
  });
});
