/**
 * Long-lived answers held under their principal (`auth/stream-grants.ts`): a WebSocket is closed with
 * 1008 (policy) and then cut, a raw HTTP answer (MJPEG, SSE) is cut, when the users change so that the
 * principal may no longer have it. Each lets go of its grant when it ends by itself.
 */
import type { ServerResponse } from "node:http";
import type { WebSocket } from "ws";
import type { Principal } from "./auth/authenticator.ts";
import type { Role } from "./auth/roles.ts";
import type { StreamGrants } from "./auth/stream-grants.ts";

/** A client that does not answer the close is cut this long after it. */
const CLOSE_GRACE_MS = 1000;

export function holdSocket(
  grants: StreamGrants,
  principal: Principal | undefined,
  socket: WebSocket,
  camera: string | undefined,
  role: Role,
): void {
  if (!principal) return;
  const release = grants.hold({
    principal,
    camera,
    role,
    end: (reason) => {
      socket.close(1008, reason);
      setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
    },
  });
  socket.once("close", release);
}

export function holdResponse(
  grants: StreamGrants,
  principal: Principal | undefined,
  res: ServerResponse,
  camera: string | undefined,
  role: Role,
): void {
  if (!principal) return;
  const release = grants.hold({ principal, camera, role, end: () => res.destroy() });
  res.once("close", release);
}
