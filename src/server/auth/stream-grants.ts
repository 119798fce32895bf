/**
 * Streams that outlive the request that opened them (RTSP sessions, MSE and talk sockets, WebRTC viewers,
 * MJPEG answers, the SSE feed), each held under the principal that opened it. When the users change (a
 * reload), every held stream is judged again as a new request would be: a removed user, a changed
 * credential, a role that no longer allows it or a camera no longer visible ends it at once. A signed URL
 * admits a stream and does not bound it: the stream goes on past the URL's expiry, until its signer loses
 * the right (docs/security.md).
 */
import type { Principal } from "./authenticator.ts";
import type { Role } from "./roles.ts";

export interface StreamGrant {
  principal: Principal;
  /** The camera the stream shows; undefined for one that spans cameras (the event feed). */
  camera: string | undefined;
  /** The role the stream needs (viewer to watch, operator to talk). */
  role: Role;
  /** Ends the stream; `reason` is for its log line. */
  end(reason: string): void;
}

/** Whether a held stream may go on under the users now configured. */
export type GrantJudge = (grant: StreamGrant) => boolean;

export class StreamGrants {
  private readonly held = new Set<StreamGrant>();

  /** Holds a stream; the returned function lets go of it (when the stream ends by itself). */
  hold(grant: StreamGrant): () => void {
    this.held.add(grant);
    return () => {
      this.held.delete(grant);
    };
  }

  get size(): number {
    return this.held.size;
  }

  /** Ends every held stream the judge no longer allows; how many ended. */
  recheck(judge: GrantJudge): number {
    let ended = 0;
    for (const grant of [...this.held]) {
      if (judge(grant)) continue;
      this.held.delete(grant);
      ended++;
      try {
        grant.end("access revoked");
      } catch {
        // Ending a stream is best effort (its socket may be gone already); the others are still judged.
      }
    }
    return ended;
  }
}
