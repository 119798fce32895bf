/**
 * Which live instance owns a camera: rendezvous (highest random weight) hashing. Every instance computes
 * the same answer from the same list, without talking to the others; when an instance joins or leaves, only
 * the cameras it wins or held move (about 1/n of them), never a reshuffle. The lease in PostgreSQL (see
 * leases.ts) is what makes ownership exclusive; this only says who *should* hold each lease. No I/O.
 */
import { createHash } from "node:crypto";

/** The camera's weight on an instance: the first 8 bytes of SHA-256(instance NUL camera), as an integer. */
function weight(instance: string, camera: string): bigint {
  return createHash("sha256").update(instance).update("\0").update(camera).digest().readBigUInt64BE(0);
}

/** The instance that should own the camera, or undefined when no instance is live. */
export function ownerOf(camera: string, instances: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const instance of instances) {
    const w = weight(instance, camera);
    // Ties (astronomically rare) go to the smaller id, so every instance agrees.
    if (w > bestWeight || (w === bestWeight && best !== undefined && instance < best)) {
      best = instance;
      bestWeight = w;
    }
  }
  return best;
}

/** Each instance's share of the cameras (every camera in exactly one list; instances without any get none). */
export function assign(cameras: readonly string[], instances: readonly string[]): Map<string, string[]> {
  const shares = new Map<string, string[]>(instances.map((instance) => [instance, []]));
  for (const camera of cameras) {
    const owner = ownerOf(camera, instances);
    if (owner !== undefined) shares.get(owner)?.push(camera);
  }
  return shares;
}
