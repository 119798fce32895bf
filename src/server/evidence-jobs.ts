/**
 * Evidence archives being prepared and ready to download, kept in memory: each belongs to the user who asked
 * (others cannot see or fetch it), each user prepares at most two at a time, at most 32 are kept, and one
 * is forgotten an hour after it was made (its layout points at stored files retention may remove). The key
 * that signs them is read (or made) once, on the first archive.
 */
import { randomBytes } from "node:crypto";
import { type EvidenceArchive, type EvidenceInputs, prepareEvidence } from "../recording/evidence.ts";
import type { EvidenceKey } from "../storage/evidence-key.ts";

export interface EvidenceJob {
  id: string;
  owner: string;
  state: "preparing" | "ready" | "failed";
  createdAt: number;
  /** Bytes hashed of the total, while preparing. */
  done: number;
  total: number;
  error?: string;
  archive?: EvidenceArchive;
  name: string;
}

/** Why a job cannot start (a typed code the route maps to its problem). */
export class EvidenceLimitError extends Error {
  readonly code = "busy";
  constructor(message: string) {
    super(message);
    this.name = "EvidenceLimitError";
  }
}

const PER_USER = 2;
const KEPT = 32;
const TTL_MS = 3_600_000;

export class EvidenceJobs {
  private readonly jobs = new Map<string, EvidenceJob & { abort: AbortController }>();
  private key: EvidenceKey | undefined;

  constructor(
    private readonly loadKey: () => EvidenceKey,
    private readonly now: () => number = Date.now,
  ) {}

  signingKey(): EvidenceKey {
    this.key ??= this.loadKey();
    return this.key;
  }

  start(owner: string, name: string, inputs: Omit<EvidenceInputs, "key">): EvidenceJob {
    this.expire();
    const busy = [...this.jobs.values()].filter((j) => j.owner === owner && j.state === "preparing").length;
    if (busy >= PER_USER)
      throw new EvidenceLimitError(
        `${owner} is preparing ${busy} evidence archives already; wait for one to finish`,
      );
    if (this.jobs.size >= KEPT) {
      const oldest = [...this.jobs.values()].find((j) => j.state !== "preparing");
      if (!oldest) throw new EvidenceLimitError("camgate is preparing as many evidence archives as it keeps");
      this.jobs.delete(oldest.id);
    }
    const abort = new AbortController();
    const job: EvidenceJob & { abort: AbortController } = {
      id: randomBytes(12).toString("base64url"),
      owner,
      state: "preparing",
      createdAt: this.now(),
      done: 0,
      total: 0,
      name,
      abort,
    };
    this.jobs.set(job.id, job);
    prepareEvidence(
      { ...inputs, key: this.signingKey() },
      (done, total) => {
        job.done = done;
        job.total = total;
      },
      abort.signal,
    ).then(
      (archive) => {
        job.archive = archive;
        job.state = "ready";
        job.total = job.done;
      },
      (error: unknown) => {
        job.state = "failed";
        job.error =
          error instanceof RangeError
            ? `${error.message}: choose a shorter window or fewer cameras`
            : String(error instanceof Error ? error.message : error);
      },
    );
    return job;
  }

  /** The job, for its owner (or an admin); undefined for anyone else, as if it did not exist. */
  get(id: string, who: { name: string; admin: boolean }): EvidenceJob | undefined {
    this.expire();
    const job = this.jobs.get(id);
    return job && (job.owner === who.name || who.admin) ? job : undefined;
  }

  private expire(): void {
    for (const job of this.jobs.values())
      if (this.now() - job.createdAt > TTL_MS) {
        job.abort.abort(new Error("expired"));
        this.jobs.delete(job.id);
      }
  }

  close(): void {
    for (const job of this.jobs.values()) job.abort.abort(new Error("camgate is stopping"));
    this.jobs.clear();
  }
}
