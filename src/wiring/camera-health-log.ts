/** A camera's health change as one log line with the camera and the reason (the API shows the same). */
import type { Logger } from "pino";
import type { Health } from "../camera/session.ts";

export function logHealth(logger: Logger, camera: string, health: Health, previous: Health): void {
  const reason = health.reason;
  switch (health.state) {
    case "offline":
      logger.warn({ camera, reason }, "camera offline");
      break;
    case "auth-failed":
      logger.warn(
        {
          camera,
          reason,
          retryInSeconds:
            health.retryAt === undefined
              ? undefined
              : Math.max(0, Math.round((health.retryAt - Date.now()) / 1000)),
          fix: `cameras.${camera}.password`,
          cause: health.cause,
        },
        health.cause === "locked-out"
          ? "camera refused credentials that worked: it has locked camgate out (or its password changed); camgate makes no attempt before the lock ends"
          : "camera refused camgate's password; camgate waits before it tries again, so the camera does not lock you out",
      );
      break;
    case "busy":
      logger.warn({ camera, reason }, "camera busy: all of camgate's connections to it are in use");
      break;
    case "online":
      logger.info(
        { camera, ...(previous.state !== "unknown" ? { after: previous.state } : {}) },
        previous.state === "unknown" ? "camera online" : "camera online again",
      );
      break;
    case "unknown":
      logger.info({ camera, reason }, "camera state unknown until the next call");
      break;
  }
}
