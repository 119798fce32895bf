/**
 * The index of recordings in SQLite (`recordings`): one row per file, written when the file starts
 * (`recording`) and updated when it is finished (`done`, with duration and size) or fails (`failed`, with
 * why). Files are named relative to the recordings directory.
 */
import type { Db } from "../storage/database.ts";

export type RecordingKind = "clip" | "segment";
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
  constructor(private readonly db: Db) {}

  begin(recording: {
    id: string;
    camera: string;
    kind: RecordingKind;
    incident?: string;
    file: string;
    startedAt: number;
  }): void {
    this.db
      .prepare(
        "INSERT INTO recordings (id, camera, kind, incident_id, file, started_at, state) VALUES (?, ?, ?, ?, ?, ?, 'recording')",
      )
      .run(
        recording.id,
        recording.camera,
        recording.kind,
        recording.incident ?? null,
        recording.file,
        recording.startedAt,
      );
  }

  done(id: string, endedAt: number, durationMs: number, bytes: number): void {
    this.db
      .prepare("UPDATE recordings SET state = 'done', ended_at = ?, duration_ms = ?, bytes = ? WHERE id = ?")
      .run(endedAt, Math.round(durationMs), bytes, id);
  }

  failed(id: string, endedAt: number, error: string): void {
    this.db
      .prepare("UPDATE recordings SET state = 'failed', ended_at = ?, error = ? WHERE id = ?")
      .run(endedAt, error.slice(0, 500), id);
  }

  get(id: string): Recording | undefined {
    const row = this.db.prepare("SELECT * FROM recordings WHERE id = ?").get(id) as Row | undefined;
    return row ? toRecording(row) : undefined;
  }

  /** The finished clip of an incident, if one was recorded. */
  clipOf(incident: string): Recording | undefined {
    const row = this.db
      .prepare("SELECT * FROM recordings WHERE incident_id = ? AND kind = 'clip' ORDER BY id DESC LIMIT 1")
      .get(incident) as Row | undefined;
    return row ? toRecording(row) : undefined;
  }

  /** A camera's recordings overlapping [from, to), oldest first. */
  list(camera: string, from: number, to: number, limit = 1000): Recording[] {
    return (
      this.db
        .prepare(
          "SELECT * FROM recordings WHERE camera = ? AND started_at < ? AND COALESCE(ended_at, started_at) >= ? ORDER BY started_at ASC LIMIT ?",
        )
        .all(camera, to, from, limit) as Row[]
    ).map(toRecording);
  }

  /** Finished and failed recordings, oldest first (what retention may delete). */
  settled(): Recording[] {
    return (
      this.db
        .prepare("SELECT * FROM recordings WHERE state != 'recording' ORDER BY started_at ASC")
        .all() as Row[]
    ).map(toRecording);
  }

  remove(id: string): void {
    this.db.prepare("DELETE FROM recordings WHERE id = ?").run(id);
  }

  /** Rows left `recording` by a process that did not finish them (a crash, a power cut). */
  unfinished(): Recording[] {
    return (this.db.prepare("SELECT * FROM recordings WHERE state = 'recording'").all() as Row[]).map(
      toRecording,
    );
  }
}
