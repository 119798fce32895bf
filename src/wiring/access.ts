/**
 * Who may come in: web sessions, the authenticator (users, tokens, signed URLs, the cluster's internal
 * user), the per-principal stream allowance, and hold-to-talk (one talker per camera).
 */
import { CLUSTER_USER, clusterSecret } from "../cluster/peer-directory.ts";
import { Talks } from "../relay/talk.ts";
import { Authenticator } from "../server/auth/authenticator.ts";
import { SessionStore } from "../server/auth/sessions.ts";
import { StreamAllowance } from "../server/stream-allowance.ts";
import type { Core } from "./core.ts";
import type { Part } from "./part.ts";

export interface Access extends Part {
  auth: Authenticator;
  sessions: SessionStore;
  talks: Talks;
  streamAllowance: StreamAllowance;
}

export function makeAccess({ core }: { core: Core }): Access {
  const { config, pgStore, sql, signer, peers, signingKey } = core;
  const sessions = new SessionStore(pgStore ? sql : undefined);
  const cluster = {
    name: CLUSTER_USER,
    role: "admin" as const,
    password: clusterSecret(signingKey),
    cameras: ["*"],
  };
  const auth = new Authenticator(config.users, {
    sessions,
    trustedProxies: config.server.trustedProxies,
    metricsToken: config.server.metricsToken,
    signer,
    limiter: core.loginLimiter,
    ...(peers ? { internalUsers: [cluster] } : {}),
  });
  const talks = new Talks();
  return {
    name: "access",
    auth,
    sessions,
    talks,
    streamAllowance: new StreamAllowance(),
    cameraReleased: (camera) => talks.drop(camera),
    close: () => talks.closeAll(),
  };
}
