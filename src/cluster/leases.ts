/**
 * Camera ownership by lease, in PostgreSQL: a row per camera with its owner, an expiry renewed by the
 * owner's heartbeat, and a fencing token. Taking a lease succeeds only when it is free, lapsed, or already
 * this instance's; a new tenure gets a new, larger token, so a paused old owner that wakes up can tell (and
 * be told) it lost the camera: every action on a camera is checked against `stillHolds(camera, token)`.
 * All times are the database's.
 */
import type pg from "pg";

export interface Lease {
  camera: string;
  owner: string;
  token: bigint;
  expiresAt: Date;
}

export class CameraLeases {
  constructor(
    private readonly pool: pg.Pool,
    readonly instance: string,
    /** How long a lease lives without a renewal (default 6 s: failover within 4-8 s). */
    private readonly ttlMs = 6000,
  ) {}

  /**
   * A query bounded to a third of the lease: one the database never answers (a connection left half-open
   * by a database restart) fails, so the heartbeat goes on (and fences) instead of waiting on it for ever,
   * an instance that silently stopped renewing anything (issue 29). The pool drops the connection.
   */
  query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    // pg honours `query_timeout` per query (lib/client.js); its type declarations omit it.
    const config: pg.QueryConfig & { query_timeout: number } = {
      text,
      values,
      query_timeout: Math.max(500, Math.floor(this.ttlMs / 3)),
    };
    return this.pool.query<R>(config);
  }

  /**
   * Takes or renews the camera's lease; the token when this instance holds it now, undefined when another
   * live instance does. Renewing keeps the token; taking a lapsed or free lease makes a new one.
   */
  async acquire(camera: string): Promise<bigint | undefined> {
    const result = await this.query<{ token: string }>(
      `INSERT INTO camera_leases (camera, owner, token, expires_at)
         VALUES ($1, $2, nextval('camera_lease_tokens'), now() + $3 * interval '1 millisecond')
       ON CONFLICT (camera) DO UPDATE SET
         token = CASE WHEN camera_leases.owner = EXCLUDED.owner AND camera_leases.expires_at > now()
                      THEN camera_leases.token ELSE EXCLUDED.token END,
         acquired_at = CASE WHEN camera_leases.owner = EXCLUDED.owner AND camera_leases.expires_at > now()
                      THEN camera_leases.acquired_at ELSE now() END,
         owner = EXCLUDED.owner,
         expires_at = EXCLUDED.expires_at
       WHERE camera_leases.owner = EXCLUDED.owner OR camera_leases.expires_at <= now()
       RETURNING token`,
      [camera, this.instance, this.ttlMs],
    );
    const token = result.rows[0]?.token;
    return token === undefined ? undefined : BigInt(token);
  }

  /** Whether this tenure (the token) still holds the camera: the fencing check before acting on it. */
  async stillHolds(camera: string, token: bigint): Promise<boolean> {
    const result = await this.query(
      "SELECT 1 FROM camera_leases WHERE camera = $1 AND owner = $2 AND token = $3 AND expires_at > now()",
      [camera, this.instance, token.toString()],
    );
    return result.rowCount === 1;
  }

  /** Gives the camera up at once (a clean shutdown, a rebalance), so the next owner need not wait it out. */
  async release(camera: string, token: bigint): Promise<void> {
    await this.query("DELETE FROM camera_leases WHERE camera = $1 AND owner = $2 AND token = $3", [
      camera,
      this.instance,
      token.toString(),
    ]);
  }

  async list(): Promise<Lease[]> {
    const result = await this.query<{ camera: string; owner: string; token: string; expires_at: Date }>(
      "SELECT camera, owner, token, expires_at FROM camera_leases WHERE expires_at > now() ORDER BY camera",
    );
    return result.rows.map((row) => ({
      camera: row.camera,
      owner: row.owner,
      token: BigInt(row.token),
      expiresAt: row.expires_at,
    }));
  }
}
