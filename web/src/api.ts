/** The UI's only door to camgate: /api/v1 with the session cookie, and the CSRF header on changes. */

export interface Session {
  authenticated: boolean;
  signInRequired: boolean;
  user?: string;
  role?: "viewer" | "operator" | "admin";
  via?: string;
  /** What this user may use beyond the cameras: camgate's settings, the cameras' config history. */
  may?: { settings: boolean; cameraHistory: boolean };
}

export interface Camera {
  id: string;
  name: string;
  /** The live wall's groups (`cameras[].groups`). */
  groups?: string[];
  health: {
    state: string;
    since: string;
    reason?: string;
    retryAt?: string;
    fix?: string;
    /** auth-failed: wrong-password, or locked-out (credentials that worked are refused). */
    cause?: "wrong-password" | "locked-out";
  };
  budget: { inUse: number; max: number; queued: number };
  /** `onvif` cameras have no MJPEG stream (`links.stream`). */
  protocol?: "dahua" | "onvif";
  links: {
    snapshot: string;
    stream?: string;
    rtsp?: string;
    rtspSub?: string;
    onvif?: string;
    cameraPort?: string;
    rtspCameraPort?: string;
  };
  device?: { type?: string; softwareVersion?: string; serial?: string; vendor?: string };
  /** Admins: the camera's last security audit in brief (findings by severity). */
  security?: { at: string; counts: Record<string, number>; error?: string };
  /** Why `device` is missing (the camera could not be asked). */
  deviceError?: string;
  /** The SD card's health as last read (null before the first check). */
  sdCard?: {
    state: "ok" | "full" | "error" | "missing" | "unsupported";
    checkedAt: string;
    totalBytes: number;
    usedBytes: number;
    usedPercent: number | null;
  } | null;
  /** The streams camgate holds open or is opening, with the camera's answer while one is down. */
  upstreams?: {
    kind: "rtsp" | "mjpeg" | "events";
    name: string;
    state: "connecting" | "live" | "down";
    reason?: string;
  }[];
}

import type { Incident as StoredIncident } from "../../src/events/incidents.ts";
import type { SmartObject } from "../../src/protocol/smart-objects.ts";

/** An incident as the API sends it: the server's own type, with its clip's URL once one is finished. */
export type Incident = StoredIncident & {
  clip: string | null;
  /** Who pinned it and when: kept until unpinned. */
  pinned?: { by: string; at: string } | null;
};

export interface CamEvent {
  id: string;
  camera: string;
  source: string;
  code: string;
  action: string;
  channel: number;
  receivedAt: string;
  snapshot: boolean;
  data: unknown;
  incident: string | null;
  /** What a smart event saw (people, vehicles), with boxes as fractions of the picture. */
  objects?: SmartObject[];
  rule?: string;
  direction?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The problem code (docs/api-errors.md), e.g. "auth-failed", "busy", "not-allowed". */
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? "GET";
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: {
      ...(init.body !== undefined ? { "Content-Type": "application/json" } : {}),
      ...(method !== "GET" ? { "X-Camgate-Csrf": "1" } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  if (response.status === 204) return undefined as T;
  const type = response.headers.get("content-type") ?? "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const problem = data as { code?: string; detail?: string; title?: string } | string;
    throw new ApiError(
      response.status,
      typeof problem === "object" ? problem.code : undefined,
      (typeof problem === "object" ? (problem.detail ?? problem.title) : undefined) ??
        String(response.status),
    );
  }
  return data as T;
}
