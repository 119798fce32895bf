/**
 * The absolute, signed links an event carries to receivers that have no camgate login (a webhook's
 * receiver, a phone's notification): its snapshot, its incident's clip (once it is made), its incident as
 * JSON, and the web UI's page for it (which asks for a sign-in). Signed by `LINKS_SIGNER` for GET only,
 * each for its own path, valid `events.linkHours`.
 */
import { LINKS_SIGNER, type UrlSigner } from "../protocol/signed-url.ts";
import type { CamgateEvent } from "./model.ts";

export interface EventLinks {
  snapshot?: string;
  /** The incident's clip: answered once the clip is made (404 until the incident has ended). */
  clip?: string;
  incident?: string;
  /** The web UI's events page on this incident (a sign-in). */
  page: string;
  /** The web UI's live page of the camera (a sign-in): where a doorbell's notification opens. */
  live: string;
  expiresAt: string;
}

export interface EventLinkOptions {
  signer: UrlSigner;
  /** camgate's base URL as the receivers reach it (`server.publicUrl`). */
  publicUrl: () => string;
  linkHours: number;
  /** Whether the camera makes a clip for this code. */
  clipsWanted: (camera: string, code: string) => boolean;
  now?: () => number;
}

export type EventLinker = (event: CamgateEvent) => EventLinks;

export function eventLinker(options: EventLinkOptions): EventLinker {
  return (event) => {
    const base = options.publicUrl().replace(/\/$/, "");
    const expires = Math.floor((options.now ?? Date.now)() / 1000 + options.linkHours * 3600);
    const signed = (path: string) => `${base}${options.signer.sign("GET", path, LINKS_SIGNER, expires)}`;
    const incident = event.incident ? encodeURIComponent(event.incident) : undefined;
    return {
      ...(event.snapshot
        ? { snapshot: signed(`/api/v1/events/${encodeURIComponent(event.id)}/snapshot.jpg`) }
        : {}),
      ...(incident && options.clipsWanted(event.camera, event.code)
        ? { clip: signed(`/api/v1/incidents/${incident}/clip.mp4`) }
        : {}),
      ...(incident ? { incident: signed(`/api/v1/incidents/${incident}`) } : {}),
      page: `${base}/events${incident ? `?incident=${incident}` : ""}`,
      live: `${base}/camera/${encodeURIComponent(event.camera)}`,
      expiresAt: new Date(expires * 1000).toISOString(),
    };
  };
}
