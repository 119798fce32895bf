/**
 * How many of a camera's connections long-lived passthrough answers (realmonitor, audio, downloads) may
 * hold: at most one per principal, and never all of the camera's budget but one, so a viewer cannot starve
 * the interactive calls (and the admin) of the camera. Streams served from the relay (MJPEG, event attach)
 * share one connection and are not counted here.
 */
import type { CameraEntry } from "../camera/registry.ts";
import { ApiProblem } from "./errors.ts";

export class StreamAllowance {
  /** camera → principal → streams held. */
  private readonly held = new Map<string, Map<string, number>>();

  /** Takes a place for `principal`, or throws `busy`; the returned function gives it back (once). */
  take(entry: CameraEntry, principal: string): () => void {
    const byPrincipal = this.held.get(entry.id) ?? new Map<string, number>();
    this.held.set(entry.id, byPrincipal);
    const total = [...byPrincipal.values()].reduce((sum, n) => sum + n, 0);
    const limit = Math.max(1, entry.session.budget.max - 1);
    if ((byPrincipal.get(principal) ?? 0) >= 1)
      throw new ApiProblem("busy", "you already hold a long-lived stream of this camera; close it first", {
        camera: entry.id,
        retryAfterSeconds: 5,
      });
    if (total >= limit)
      throw new ApiProblem("busy", `long-lived streams already hold ${total} of this camera's connections`, {
        camera: entry.id,
        retryAfterSeconds: 5,
      });
    byPrincipal.set(principal, (byPrincipal.get(principal) ?? 0) + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (byPrincipal.get(principal) ?? 1) - 1;
      if (left > 0) byPrincipal.set(principal, left);
      else byPrincipal.delete(principal);
    };
  }
}
