/**
 * Incidents: what people mean by "an event", one thing that happened on a camera from its start to its end
 * (as Frigate's events have a start, an end and a duration), seen by one or more sources. The raw
 * transitions (`events` rows: start, stop, pulse) stay as they are; each names the incident it belongs to.
 *
 * A transition joins an incident of the same camera, code and channel when
 *   - the incident is still going on (a start seen twice, the alarm mail of a motion the stream reported), or
 *   - it ended or began less than the merge window ago and this source has not reported it yet (the mail a
 *     camera sends after the motion already stopped: Amcrest firmware mails 2–20 s after the start, with the
 *     snapshot it took).
 * A stop ends the incident when it comes from the source that leads it (the camera's event stream when it
 * reported the incident, else the first source); from another source it only adds that source. Gateway events (CameraOffline, ...) are incidents of their own. Runs inside the event's
 * transaction, so an event and its incident are stored together or not at all.
 */
import { inChunks, type Sql } from "../storage/sql.ts";
import { listColumn, listOf } from "./list-column.ts";
import type { CamgateEvent, EventSource } from "./model.ts";
import { newestFirst, type PageQuery } from "./paging.ts";

export interface Incident {
  /** The id of its first transition (a ULID: incidents sort by start). */
  id: string;
  camera: string;
  code: string;
  channel: number;
  start: string;
  /** Undefined while it goes on. */
  end: string | null;
  durationMs: number | null;
  ongoing: boolean;
  /** Every source that reported it, in the order they did. */
  sources: EventSource[];
  /** A transition with a snapshot, if any (GET /api/v1/events/<id>/snapshot.jpg). */
  snapshotEvent: string | null;
  /** How many transitions it has. */
  events: number;
  /**
   * Motion incidents of a camera camgate also watches for motion (`cameras[].motion`): true once camgate's
   * detection saw it too, false while it has not (a camera motion still unconfirmed when it ends was
   * rejected); null for any other incident.
   */
  confirmed: boolean | null;
  /** What it was to an owner, from every transition (alert-kinds.ts: person, vehicle, motion, ...). */
  kinds: string[];
  /** The zones, rules or regions its transitions named (camgate's motion zones, the camera's IVS rules). */
  zones: string[];
}

interface Row {
  id: string;
  camera: string;
  code: string;
  channel: number;
  started_at: number;
  ended_at: number | null;
  last_at: number;
  sources: string;
  snapshot_event: string | null;
  events: number;
  confirmed: number | null;
  kinds: string | null;
  zones: string | null;
}

/**
 * What the merge looks at of a transition: its key, its source and action, when, whether it has a picture,
 * and whether camgate's own motion detection watches its camera (`judged`).
 */
export type Transition = Pick<CamgateEvent, "id" | "camera" | "source" | "code" | "action" | "channel"> & {
  at: number;
  snapshot: boolean;
  judged?: boolean;
  kinds?: readonly string[];
  zones?: readonly string[];
};

/** Camera motion as camgate's detection reports it (source `motion`, code VideoMotion). */
export const MOTION_CODE = "VideoMotion";

/** Two reports this close together are one incident (the mail of a motion comes after its stop). */
export const DEFAULT_MERGE_WINDOW_MS = 60_000;

export function toIncident(row: Row): Incident {
  return {
    id: row.id,
    camera: row.camera,
    code: row.code,
    channel: row.channel,
    start: new Date(row.started_at).toISOString(),
    end: row.ended_at === null ? null : new Date(row.ended_at).toISOString(),
    durationMs: row.ended_at === null ? null : row.ended_at - row.started_at,
    ongoing: row.ended_at === null,
    sources: JSON.parse(row.sources) as EventSource[],
    snapshotEvent: row.snapshot_event,
    events: row.events,
    confirmed: row.confirmed === null || row.confirmed === undefined ? null : Number(row.confirmed) === 1,
    kinds: listOf(row.kinds),
    zones: listOf(row.zones),
  };
}

const INSERT =
  "INSERT INTO incidents (id, camera, code, channel, started_at, ended_at, last_at, sources, snapshot_event, events, confirmed, kinds, zones) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const UPDATE =
  "UPDATE incidents SET ended_at = ?, last_at = ?, sources = ?, snapshot_event = ?, events = ?, confirmed = ?, kinds = ?, zones = ? WHERE id = ?";

/** What a new incident's `confirmed` starts as (1, 0 or NULL: `Incident.confirmed`). */
function initialConfirmed(transition: Transition): number | null {
  if (transition.code !== MOTION_CODE || transition.source === "gateway") return null;
  if (transition.source === "motion") return 1;
  return transition.judged ? 0 : null;
}
/**
 * The two lookups every event makes, each served by its own index (incidents_open: open incidents only;
 * incidents_recent: by last activity, read from its newest end), so their cost does not grow with the
 * incidents stored, nor with how many began within the merge window (a pulse a millisecond makes 60,000 of
 * them: issue 30). The recent one is the incident last active within the window.
 * Exported for the test that reads their query plans.
 */
export const OPEN_FOR =
  "SELECT * FROM incidents WHERE camera = ? AND code = ? AND channel = ? AND ended_at IS NULL ORDER BY id DESC LIMIT 1";
export const RECENT_FOR =
  "SELECT * FROM incidents WHERE camera = ? AND code = ? AND channel = ? AND last_at >= ? ORDER BY last_at DESC, id DESC LIMIT 1";

export class Incidents {
  constructor(
    private readonly sql: Sql,
    private readonly mergeWindowMs = DEFAULT_MERGE_WINDOW_MS,
  ) {}

  /**
   * The incident this transition belongs to (made or updated), inside the event's transaction `tx`; its id
   * goes into the event row.
   */
  async assign(tx: Sql, transition: Transition): Promise<string> {
    const target = transition.source === "gateway" ? undefined : await this.joinable(tx, transition);
    if (!target) {
      const ends = transition.source === "gateway" || transition.action !== "start";
      await tx.run(INSERT, [
        transition.id,
        transition.camera,
        transition.code,
        transition.channel,
        transition.at,
        ends ? transition.at : null,
        transition.at,
        JSON.stringify([transition.source]),
        transition.snapshot ? transition.id : null,
        1,
        initialConfirmed(transition),
        listColumn(transition.kinds ?? []),
        listColumn(transition.zones ?? []),
      ]);
      return transition.id;
    }
    const sources = JSON.parse(target.sources) as EventSource[];
    const reportedBefore = sources.includes(transition.source);
    if (!reportedBefore) sources.push(transition.source);
    // The camera's event stream, when it reported the incident, says when it ends; else its first source.
    const primary = sources.includes("camera") ? "camera" : sources[0];
    const ends =
      target.ended_at === null &&
      transition.action === "stop" &&
      reportedBefore &&
      transition.source === primary;
    await tx.run(UPDATE, [
      ends ? transition.at : target.ended_at,
      Math.max(target.last_at, transition.at),
      JSON.stringify(sources),
      target.snapshot_event ?? (transition.snapshot ? transition.id : null),
      target.events + 1,
      transition.source === "motion" && transition.code === MOTION_CODE ? 1 : (target.confirmed ?? null),
      listColumn([...listOf(target.kinds), ...(transition.kinds ?? [])]),
      listColumn([...listOf(target.zones), ...(transition.zones ?? [])]),
      target.id,
    ]);
    return target.id;
  }

  private async joinable(tx: Sql, transition: Transition): Promise<Row | undefined> {
    const key = [transition.camera, transition.code, transition.channel] as const;
    const open = await tx.get<Row>(OPEN_FOR, key);
    if (open) return open;
    const recent = await tx.get<Row>(RECENT_FOR, [...key, transition.at - this.mergeWindowMs]);
    if (!recent) return undefined;
    // A stop belongs to the incident that just ended (the mail's stop after the stream's). A start or pulse
    // from a source that already reported it is a new incident; from another source, the same one.
    if (transition.action === "stop") return recent;
    return (JSON.parse(recent.sources) as string[]).includes(transition.source) ? undefined : recent;
  }

  async get(id: string): Promise<Incident | undefined> {
    const row = await this.sql.get<Row>("SELECT * FROM incidents WHERE id = ?", [id]);
    return row ? toIncident(row) : undefined;
  }

  /** Newest first (by start), with a cursor for the next page. */
  async list(query: PageQuery): Promise<{ incidents: Incident[]; nextCursor: string | undefined }> {
    const page = await newestFirst<Row>(this.sql, "incidents", query);
    return { incidents: page.rows.map(toIncident), nextCursor: page.nextCursor };
  }

  /** Incidents none of whose transitions are left (after retention). */
  pruneOrphans(tx: Sql = this.sql): Promise<number> {
    return tx.run(
      "DELETE FROM incidents WHERE NOT EXISTS (SELECT 1 FROM events WHERE events.incident_id = incidents.id)",
    );
  }

  /** Pins an incident: kept, with its events and recordings, until unpinned. */
  async pin(id: string, by: string, at = Date.now()): Promise<void> {
    await this.sql.run(
      "INSERT INTO pinned_incidents (incident_id, pinned_by, pinned_at) VALUES (?, ?, ?) ON CONFLICT (incident_id) DO NOTHING",
      [id, by, at],
    );
  }

  async unpin(id: string): Promise<void> {
    await this.sql.run("DELETE FROM pinned_incidents WHERE incident_id = ?", [id]);
  }

  /** Who pinned these incidents and when (the ones not pinned are absent). */
  async pins(ids: readonly string[]): Promise<Map<string, { by: string; at: string }>> {
    const pages = await inChunks(ids, (list, chunk) =>
      this.sql.all<{ incident_id: string; pinned_by: string; pinned_at: number }>(
        `SELECT incident_id, pinned_by, pinned_at FROM pinned_incidents WHERE incident_id IN (${list})`,
        chunk,
      ),
    );
    return new Map(
      pages
        .flat()
        .map((row) => [
          row.incident_id,
          { by: row.pinned_by, at: new Date(Number(row.pinned_at)).toISOString() },
        ]),
    );
  }

  /** Every pinned incident's camera and time (what recording retention must keep). */
  async pinned(): Promise<{ id: string; camera: string; start: number; end: number | null }[]> {
    const rows = await this.sql.all<{
      id: string;
      camera: string;
      started_at: number;
      ended_at: number | null;
    }>(
      "SELECT i.id, i.camera, i.started_at, i.ended_at FROM incidents i JOIN pinned_incidents p ON p.incident_id = i.id",
    );
    return rows.map((row) => ({
      id: row.id,
      camera: row.camera,
      start: Number(row.started_at),
      end: row.ended_at === null ? null : Number(row.ended_at),
    }));
  }

  /** Which of these incidents still exist (recordings keep a clip only while its incident is there). */
  /**
   * The camera's own rules and regions that saw people or vehicles (from its last 1,000 such incidents):
   * Home Assistant gets a sensor for each.
   */
  async rulesOf(camera: string): Promise<{ rule: string; kind: "person" | "vehicle" }[]> {
    const rows = await this.sql.all<{ kinds: string | null; zones: string | null }>(
      "SELECT kinds, zones FROM incidents WHERE camera = ? AND zones IS NOT NULL AND (kinds LIKE '%,person,%' OR kinds LIKE '%,vehicle,%') ORDER BY id DESC LIMIT 1000",
      [camera],
    );
    const found = new Map<string, { rule: string; kind: "person" | "vehicle" }>();
    for (const row of rows)
      for (const kind of ["person", "vehicle"] as const)
        if (listOf(row.kinds).includes(kind))
          for (const rule of listOf(row.zones)) found.set(`${rule}\n${kind}`, { rule, kind });
    return [...found.values()];
  }

  async existing(ids: readonly string[]): Promise<Set<string>> {
    const pages = await inChunks(ids, (list, chunk) =>
      this.sql.all<{ id: string }>(`SELECT id FROM incidents WHERE id IN (${list})`, chunk),
    );
    return new Set(pages.flat().map((row) => row.id));
  }
}
