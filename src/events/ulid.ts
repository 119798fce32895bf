/**
 * Sortable unique ids (ULID: 48-bit millisecond time + 80 random bits, Crockford base32). Monotonic within
 * one generator: ids made in the same millisecond still sort in creation order.
 */
import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export class UlidGenerator {
  private lastTime = -1;
  private lastRandom: number[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  next(): string {
    let time = this.now();
    if (time <= this.lastTime) {
      time = this.lastTime;
      this.increment();
    } else {
      this.lastTime = time;
      this.lastRandom = Array.from(randomBytes(16), (b) => b & 31);
    }
    let head = "";
    for (let i = 9; i >= 0; i--) {
      head = ALPHABET[time % 32] + head;
      time = Math.floor(time / 32);
    }
    return head + this.lastRandom.map((v) => ALPHABET[v]).join("");
  }

  private increment(): void {
    for (let i = this.lastRandom.length - 1; i >= 0; i--) {
      const value = (this.lastRandom[i] as number) + 1;
      if (value < 32) {
        this.lastRandom[i] = value;
        return;
      }
      this.lastRandom[i] = 0;
    }
  }
}

/** The millisecond time inside a ULID. */
export function ulidTime(id: string): number {
  let time = 0;
  for (const ch of id.slice(0, 10)) time = time * 32 + ALPHABET.indexOf(ch);
  return time;
}
