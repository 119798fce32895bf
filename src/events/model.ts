/** The one event model: camera event streams, alarm e-mails and the gateway's own events. */
import type { JsonValue } from "../protocol/kv.ts";
import type { SmartObject } from "../protocol/smart-objects.ts";

/** `motion`: camgate's own motion detection on the camera's pictures (`cameras[].motion`). */
export type EventSource = "camera" | "email" | "gateway" | "motion";
export type EventAction = "start" | "stop" | "pulse" | "state";

export interface CamgateEvent {
  /** ULID: sortable by time. */
  id: string;
  camera: string;
  source: EventSource;
  /** Camera codes keep the camera's names (VideoMotion, VideoBlind, ...); gateway codes: CameraOffline, ... */
  code: string;
  action: EventAction;
  /** 0-based channel. */
  channel: number;
  data: JsonValue;
  /** The camera's own time, as it reported it (no zone), when it did. */
  cameraTime: string | null;
  /** When camgate received it (ISO 8601). */
  receivedAt: string;
  /** Whether a snapshot is stored for this event (GET /api/v1/events/<id>/snapshot.jpg). */
  snapshot: boolean;
  /** The incident this transition belongs to (GET /api/v1/incidents/<id>); null for events from before 0.2. */
  incident: string | null;
  /**
   * What a smart event (IVS, SMD) saw, read from `data` whatever the firmware's spelling: people, vehicles,
   * ... with their boxes (docs/events.md). Present only on events that carry them; `data` keeps the raw.
   */
  objects?: SmartObject[];
  /** The rule or region that fired (`Rule 1`, `Region1`), when the event names one. */
  rule?: string;
  /** Which way a tripwire was crossed (`left-to-right`, `right-to-left`, `both`), when the event says. */
  direction?: string;
}

/**
 * An event as its source reports it, with the JPEG to store beside it, if any (bytes, not a Node Buffer:
 * the web UI's types read this file too).
 */
export type NewEvent = Omit<
  CamgateEvent,
  "id" | "receivedAt" | "snapshot" | "incident" | "objects" | "rule" | "direction"
> & {
  snapshotJpeg?: Uint8Array;
};

/** An event ready for the store: its snapshot, if any, already written to a file of this name. */
export type StorableEvent = Omit<NewEvent, "snapshotJpeg"> & { snapshotFile?: string };

/** Camera actions as written (Start, Stop, Pulse, State, doorbell verbs) → the model's. */
export function normaliseAction(action: string): EventAction {
  switch (action.toLowerCase()) {
    case "start":
      return "start";
    case "stop":
      return "stop";
    case "state":
      return "state";
    default:
      return "pulse";
  }
}
