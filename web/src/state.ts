/** Shared UI state (signals): who is signed in, the cameras, the live event list, the current route. */
import { signal } from "@preact/signals";
import { api, type CamEvent, type Camera, type Session } from "./api.ts";

export const session = signal<Session | undefined>(undefined);
export const cameras = signal<Camera[]>([]);
export const events = signal<CamEvent[]>([]);
export const route = signal<string>(location.pathname);

/** An onClick handler for in-app links: navigate without a reload. */
export const go = (path: string) => (event: Event) => {
  event.preventDefault();
  navigate(path);
};

export function navigate(path: string): void {
  if (path !== location.pathname) history.pushState(null, "", path);
  route.value = path;
}
addEventListener("popstate", () => {
  route.value = location.pathname;
});

export const canOperate = () => session.value?.role === "operator" || session.value?.role === "admin";
export const isAdmin = () => session.value?.role === "admin";

export async function loadSession(): Promise<void> {
  session.value = await api<Session>("/api/v1/session");
}

export async function loadCameras(): Promise<void> {
  cameras.value = (await api<{ cameras: Camera[] }>("/api/v1/cameras")).cameras;
}

let source: EventSource | undefined;

/** Recent events from the store, then live ones over SSE (replaying what was missed on reconnect). */
export async function startEvents(): Promise<void> {
  const recent = await api<{ events: CamEvent[] }>("/api/v1/events?limit=100");
  events.value = recent.events;
  source?.close();
  const last = recent.events[0]?.id;
  source = new EventSource(`/api/v1/events/stream${last ? `?lastEventId=${last}` : ""}`);
  source.onmessage = (message) => {
    const event = JSON.parse(message.data) as CamEvent;
    if (events.value.some((e) => e.id === event.id)) return;
    events.value = [event, ...events.value].slice(0, 500);
  };
}

export function stopEvents(): void {
  source?.close();
  source = undefined;
}
