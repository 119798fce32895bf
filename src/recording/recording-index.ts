/**
 * The index of recordings (`recordings`, in the shared store: SQLite, or PostgreSQL for several instances):
 * one row per file, written when the file starts (`recording`) and updated when it is finished (`done`,
 * with duration and size) or fails (`failed`, with why). Files are named relative to the recordings
 * directory. Each row names the instance recording it, so a restart repairs only what it left unfinished.
 * Writes go out one after another, so a file's `done` never overtakes its `begin` on another connection.
 */
import { inChunks, type Sql } from "../storage/sql.ts";

/** An event clip, a continuous segment, or footage copied from the camera's SD card into a hole. */
export type RecordingKind = "clip" | "segment" | "backfill";
export type RecordingState = "recording" | "done" | "failed";

export interface Recording {
  id: string;
  camera: string;
  kind: RecordingKind;
  /** The incident a clip was made for. */
  incident: string | null;
  file: string;
  start: string;
  end: string | null;
  durationMs: number | null;
  bytes: number;
  state: RecordingState;
  error: string | null;
}

interface Row {
  id: string;
  camera: string;
  kind: string;
  incident_id: string | null;
  file: string;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  bytes: number;
  state: string;
  error: string | null;
}

function toRecording(row: Row): Recording {
  return {
    id: row.id,
    camera: row.camera,
    kind: row.kind as RecordingKind,
    incident: row.incident_id,
    file: row.file,
    start: new Date(row.started_at).toISOString(),
    end: row.ended_at === null ? null : new Date(row.ended_at).toISOString(),
    durationMs: row.duration_ms,
    bytes: row.bytes,
    state: row.state as RecordingState,
    error: row.error,
  };
}

export class RecordingIndex {
  /** The writes in order (each waits for the one before). */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    /** Who records (the cluster instance); "local" alone. */
    private readonly recorder = "local",
    /** A write the store refused (it is bookkeeping: the recording goes on); logged by the caller. */
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** Never rejects: the recorders go on when the index cannot be written, and say so through `onError`. */
  private write(text: string, params: (string | number | null)[]): Promise<void> {
    const next = this.writes
      .then(() => this.sql.run(text, params))
      .then(
        () => undefined,
        (error: unknown) => this.onError(error),
      );
    this.writes = next;
    return next;
  }

  begin(recording: {
    id: string;
    camera: string;
    kind: RecordingKind;
    incident?: string;
    file: string;
    startedAt: number;
  }): Promise<void> {
    return this.write(
      "INSERT INTO recordings (id, camera, kind, incident_id, file, started_at, state, recorded_by) VALUES (?, ?, ?, ?, ?, ?, 'recording', ?)",
      [
        recording.id,
        recording.camera,
        recording.kind,
        recording.incident ?? null,
        recording.file,
        recording.startedAt,
        this.recorder,
      ],
    );
  }

  done(id: string, endedAt: number, durationMs: number, bytes: number): Promise<void> {
    return this.write(
      "UPDATE recordings SET state = 'done', ended_at = ?, duration_ms = ?, bytes = ? WHERE id = ?",
      [endedAt, Math.round(durationMs), bytes, id],
    );
  }

  failed(id: string, endedAt: number, error: string): Promise<void> {
    return this.write("UPDATE recordings SET state = 'failed', ended_at = ?, error = ? WHERE id = ?", [
      endedAt,
      error.slice(0, 500),
      id,
    ]);
  }

  async get(id: string): Promise<Recording | undefined> {
    const row = await this.sql.get<Row>("SELECT * FROM recordings WHERE id = ?", [id]);
    return row ? toRecording(row) : undefined;
  }

  /** The latest clip of an incident, if one was recorded. */
  async clipOf(incident: string): Promise<Recording | undefined> {
    const row = await this.sql.get<Row>(
      "SELECT * FROM recordings WHERE incident_id = ? AND kind = 'clip' ORDER BY id DESC LIMIT 1",
      [incident],
    );
    return row ? toRecording(row) : undefined;
  }

  /** Which of these incidents have a finished clip (one query for a page of incidents). */
  async withDoneClips(incidents: readonly string[]): Promise<Set<string>> {
    const pages = await inChunks(incidents, (list, chunk) =>
      this.sql.all<{ incident_id: string }>(
        `SELECT DISTINCT incident_id FROM recordings WHERE kind = 'clip' AND state = 'done' AND incident_id IN (${list})`,
        chunk,
      ),
    );
    return new Set(pages.flat().map((row) => row.incident_id));
  }

  /** A camera's recordings overlapping [from, to), oldest first. */
  async list(camera: string, from: number, to: number, limit = 1000): Promise<Recording[]> {
    const rows = await this.sql.all<Row>(
      // One being written (no end yet) overlaps every range after its start.
      "SELECT * FROM recordings WHERE camera = ? AND started_at < ? AND (ended_at IS NULL OR ended_at >= ?) ORDER BY started_at ASC LIMIT ?",
      [camera, to, from, limit],
    );
    return rows.map(toRecording);
  }

  /** Finished and failed recordings, oldest first (what retention may delete). */
  async settled(): Promise<Recording[]> {
    const rows = await this.sql.all<Row>(
      "SELECT * FROM recordings WHERE state != 'recording' ORDER BY started_at ASC",
    );
    return rows.map(toRecording);
  }

  remove(id: string): Promise<void> {
    return this.write("DELETE FROM recordings WHERE id = ?", [id]);
  }

  /** Rows this recorder left `recording` (a crash, a power cut): another instance's are still being written. */
  async unfinished(): Promise<Recording[]> {
    const rows = await this.sql.all<Row>(
      "SELECT * FROM recordings WHERE state = 'recording' AND recorded_by = ?",
      [this.recorder],
    );
    return rows.map(toRecording);
  }

  /** Resolves once every write made so far is done. */
  async flushed(): Promise<void> {
    await this.writes;
  }
}
