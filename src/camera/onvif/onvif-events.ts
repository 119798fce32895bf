/**
 * An ONVIF camera's events as camgate's camera event stream: one PullPoint subscription (the only kind Home
 * Assistant supports, and the one cameras behind NAT can serve, quirk 15), pulled in a loop of long polls
 * through the camera's budget, renewed before it lapses, re-created after any failure with the same
 * backoff as the Dahua stream. State topics become Start/Stop of camgate's codes; after a reconnect, a state
 * that was on and is not reported on again in the new subscription's `Initialized` messages gets a
 * synthetic stop, so nothing stays stuck "on". Every loop is bounded by the answer's message limit.
 */
import { stateChangesOf } from "../../protocol/onvif-notification.ts";
import { childOf, textOf } from "../../protocol/soap.ts";
import { CameraError } from "../errors.ts";
import type { CameraEventNotice, CameraEventSource } from "../events.ts";
import { StreamSource, type StreamSourceOptions } from "../stream-source.ts";
import { downFromError } from "../stream-status.ts";
import { type OnvifCamera, pathOf } from "./onvif-camera.ts";
import { ONVIF_NS } from "./onvif-client.ts";

export interface OnvifEventStreamOptions extends StreamSourceOptions {
  camera: OnvifCamera;
  /** `All` or a list of camgate codes. */
  codes: readonly string[];
  /** A pull waits up to this long for messages (the long poll; default 10 s). */
  pullSeconds?: number;
  onEvent: (notice: CameraEventNotice) => void;
  onReconnect?: () => void;
}

/** The subscription's life asked for, and when it is renewed (half of it). */
const LIFE_SECONDS = 60;
const MESSAGE_LIMIT = 32;
/** An empty answer sooner than this after its pull waits out the rest before the next pull. */
const MIN_PULL_MS = 1000;

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export class OnvifEventStream extends StreamSource implements CameraEventSource {
  private readonly active = new Map<string, Set<number>>();
  private everConnected = false;
  private subscription: string | undefined;
  private abort: AbortController | undefined;
  reconnects = 0;
  stalls = 0;
  malformedParts = 0;
  /** Pulls answered (ONVIF's heartbeat: an empty answer to a long poll). */
  heartbeats = 0;
  catchUpFailures = 0;

  constructor(private readonly options: OnvifEventStreamOptions) {
    super(options);
  }

  activeStates(): { code: string; index: number }[] {
    return [...this.active].flatMap(([code, indexes]) => [...indexes].map((index) => ({ code, index })));
  }

  private get id(): string {
    return this.options.camera.client.id;
  }

  private wanted(code: string): boolean {
    return this.options.codes.includes("All") || this.options.codes.includes(code);
  }

  protected release(): void {
    this.abort?.abort();
    this.abort = undefined;
    const subscription = this.subscription;
    this.subscription = undefined;
    if (subscription === undefined) return;
    // Best effort: a device that never hears it lets the subscription lapse by itself within its life.
    void this.options.camera.client
      .call({
        path: subscription,
        namespace: "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager",
        operation: "UnsubscribeRequest",
        body: "<wsnt:Unsubscribe/>",
        priority: "background",
      })
      .catch(() => undefined);
  }

  protected async connect(generation: number): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    const client = this.options.camera.client;
    let subscription: string;
    try {
      const answer = await client.call({
        path: await this.options.camera.service("events", "background"),
        namespace: ONVIF_NS.events,
        operation: "CreatePullPointSubscriptionRequest",
        body: `<tev:CreatePullPointSubscription><tev:InitialTerminationTime>PT${LIFE_SECONDS}S</tev:InitialTerminationTime></tev:CreatePullPointSubscription>`,
        priority: "background",
        signal: abort.signal,
      });
      const address = pathOf(textOf(childOf(answer.body, "SubscriptionReference", "Address")));
      if (!address)
        throw new CameraError("bad-response", this.id, "CreatePullPointSubscription gave no address");
      subscription = address;
    } catch (error) {
      if (this.loop.isCurrent(generation)) this.loop.fail(downFromError(error, this.id));
      return;
    }
    if (!this.loop.isCurrent(generation)) return;
    this.subscription = subscription;
    const reconnected = this.everConnected;
    this.everConnected = true;
    this.loop.live();
    if (reconnected) {
      this.reconnects++;
      this.options.onReconnect?.();
    }
    // States on before the gap, to be confirmed by the first answer's Initialized messages.
    let unconfirmed = reconnected ? this.activeStates() : [];
    let renewedAt = Date.now();
    const pullSeconds = this.options.pullSeconds ?? 10;
    while (this.loop.isCurrent(generation)) {
      try {
        if (Date.now() - renewedAt > (LIFE_SECONDS / 2) * 1000) {
          await client.call({
            path: subscription,
            namespace: "http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager",
            operation: "RenewRequest",
            body: `<wsnt:Renew><wsnt:TerminationTime>PT${LIFE_SECONDS}S</wsnt:TerminationTime></wsnt:Renew>`,
            priority: "background",
            signal: abort.signal,
          });
          renewedAt = Date.now();
        }
        const pulledAt = Date.now();
        const answer = await client.call({
          path: subscription,
          namespace: ONVIF_NS.events,
          operation: "PullMessagesRequest",
          body: `<tev:PullMessages><tev:Timeout>PT${pullSeconds}S</tev:Timeout><tev:MessageLimit>${MESSAGE_LIMIT}</tev:MessageLimit></tev:PullMessages>`,
          priority: "background",
          signal: abort.signal,
          timeoutMs: (pullSeconds + 10) * 1000,
        });
        if (!this.loop.isCurrent(generation)) return;
        this.heartbeats++;
        const changes = stateChangesOf(answer.body);
        for (const change of changes) {
          if (change.active && change.initialized)
            unconfirmed = unconfirmed.filter((s) => s.code !== change.code || s.index !== change.index);
          this.apply(change.code, change.index, change.active, false);
        }
        for (const state of unconfirmed) this.apply(state.code, state.index, false, true);
        unconfirmed = [];
        // A device that answers at once instead of holding the poll must not be asked in a tight loop.
        if (changes.length === 0) await pause(MIN_PULL_MS - (Date.now() - pulledAt), abort.signal);
      } catch (error) {
        if (this.loop.isCurrent(generation)) {
          if (error instanceof CameraError && error.code === "bad-response") this.malformedParts++;
          this.loop.fail(downFromError(error, this.id));
        }
        return;
      }
    }
  }

  /** One state as the camera reports it; repeats of the current state say nothing. */
  private apply(code: string, index: number, on: boolean, synthetic: boolean): void {
    if (!this.wanted(code)) return;
    const indexes = this.active.get(code) ?? new Set<number>();
    if (on === indexes.has(index)) return;
    if (on) indexes.add(index);
    else indexes.delete(index);
    if (indexes.size > 0) this.active.set(code, indexes);
    else this.active.delete(code);
    this.options.onEvent({ code, action: on ? "Start" : "Stop", index, data: undefined, synthetic });
  }
}
