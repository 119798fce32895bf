/**
 * The live event feed as Server-Sent Events: what was missed after `Last-Event-ID` is replayed from the
 * store, then live events follow, without a gap or a duplicate between the two. A client too far behind is
 * dropped (it reconnects with Last-Event-ID and loses nothing); a comment every 15 s keeps proxies open.
 * With several instances the feed carries every camera's events, whichever instance stored them; their
 * ids come from several clocks, so duplicates are told apart by id, not by order.
 */
import type { ServerResponse } from "node:http";
import type { EventBus } from "./bus.ts";
import type { CamgateEvent } from "./model.ts";
import type { EventStore } from "./store.ts";

const KEEPALIVE_MS = 15_000;
/** An SSE client further behind than this is dropped. */
const MAX_BACKLOG_BYTES = 8 * 1024 * 1024;
const REPLAY_BATCH = 1000;
/** How many sent ids are remembered to drop a duplicate (more than one replay batch). */
const RECENT_IDS = 2 * REPLAY_BATCH;

export interface EventFeedOptions {
  bus: EventBus;
  store: EventStore;
  /** Which events this client gets (its cameras, its filters). */
  wanted: (event: CamgateEvent) => boolean;
  /** Replay everything stored after this id first. */
  lastEventId: string | undefined;
}

/** Serves the feed on `res` (nothing written yet) until the client goes away. */
export async function serveEventFeed(res: ServerResponse, options: EventFeedOptions): Promise<void> {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });
  res.write(": camgate events\n\n");
  const replayedAfter = options.lastEventId ?? "";
  /** The ids sent lately (the replay's and the live ones meet here). */
  const sent = new Set<string>();
  const send = (event: CamgateEvent) => {
    if (event.id <= replayedAfter || sent.has(event.id) || !options.wanted(event)) return;
    sent.add(event.id);
    if (sent.size > RECENT_IDS) sent.delete(sent.values().next().value as string);
    res.write(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
    if (res.writableLength > MAX_BACKLOG_BYTES) res.destroy();
  };
  // Subscribe before replaying, so nothing published in between is missed; `send` skips duplicates.
  const pending: CamgateEvent[] = [];
  let replaying = true;
  const unsubscribe = options.bus.subscribeEverywhere((event) =>
    replaying ? pending.push(event) : send(event),
  );
  let keepalive: NodeJS.Timeout | undefined;
  // Registered before the replay reads the store: a viewer gone meanwhile must not leave its listener.
  res.once("close", () => {
    clearInterval(keepalive);
    unsubscribe();
  });
  if (options.lastEventId) {
    let from = options.lastEventId;
    for (;;) {
      const batch = await options.store.after(from, REPLAY_BATCH);
      for (const event of batch) send(event);
      if (batch.length < REPLAY_BATCH || res.destroyed) break;
      from = batch[batch.length - 1]?.id ?? from;
    }
  }
  replaying = false;
  for (const event of pending) send(event);
  if (!res.destroyed) keepalive = setInterval(() => res.write(": keepalive\n\n"), KEEPALIVE_MS);
}
