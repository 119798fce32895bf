/**
 * Sortable unique ids: ULIDs from the `ulid` package (48-bit millisecond time + 80 random bits, Crockford
 * base32), monotonic within one generator so that ids made in the same millisecond still sort in creation
 * order. A class around the library's factory only to take the clock from the caller (the store's tests).
 */
import { decodeTime, monotonicFactory } from "ulid";

export class UlidGenerator {
  private readonly make = monotonicFactory();

  constructor(private readonly now: () => number = Date.now) {}

  next(): string {
    return this.make(this.now());
  }
}

/** The millisecond time inside a ULID. */
export function ulidTime(id: string): number {
  return decodeTime(id);
}
