/**
 * "Did you mean": the keys the schema has where an unknown key was written, and the closest of them by edit
 * distance (case ignored), so `passthroughport` or `passthruPort` points at `passthroughPort`.
 */
import type { z } from "zod";

type Node = z.ZodType;

interface Def {
  type?: string;
  innerType?: Node;
  element?: Node;
  shape?: Record<string, Node>;
  in?: Node;
}

const defOf = (schema: Node): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schema behind wrappers (optional, default, prefault, nullable, a refinement's pipe). */
function unwrap(schema: Node): Node {
  let current = schema;
  for (let i = 0; i < 16; i++) {
    const def = defOf(current);
    const inner = def.innerType ?? (def.type === "pipe" ? def.in : undefined);
    if (!inner) return current;
    current = inner;
  }
  return current;
}

/** The keys an object of the schema has at `path` (array indexes step into elements); none if not an object. */
export function keysAt(schema: Node, path: readonly PropertyKey[]): string[] {
  let current = unwrap(schema);
  for (const step of path) {
    const def = defOf(current);
    if (typeof step === "number" && def.element) current = unwrap(def.element);
    else if (typeof step === "string" && def.shape?.[step]) current = unwrap(def.shape[step]);
    else return [];
  }
  const shape = defOf(current).shape;
  return shape ? Object.keys(shape) : [];
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** The known key closest to `key`, if it is close enough to be a typo of it. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: { key: string; d: number } | undefined;
  for (const candidate of known) {
    const d = distance(lower, candidate.toLowerCase());
    if (!best || d < best.d) best = { key: candidate, d };
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}
