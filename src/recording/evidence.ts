/**
 * Evidence export: one ZIP for what happened, across cameras. Per camera an MP4 of the window re-muxed from
 * the stored footage (export.ts: continuous segments, else event clips) with the gaps listed, the events of
 * the window (and the incident's transitions) as JSON with their snapshots, and a manifest with each file's
 * SHA-256 and size, the exact range, camgate's version and its clock, signed with camgate's Ed25519 key
 * (`manifest.sig`, the public key beside it). `camgate verify` checks the lot.
 *
 * Made in two steps: `prepareEvidence` reads every member once to hash it (SHA-256 for the manifest, CRC-32
 * for the ZIP headers; progress is reported), then the archive's layout is fixed and `evidenceBytes` makes
 * any byte range of it on demand from the stored files: nothing is staged on disk, and a broken download
 * resumes with a range request.
 */
import { createHash, sign } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { crc32 } from "node:zlib";
import type { CamgateEvent } from "../events/model.ts";
import { layOutZip, localHeader, type ZipLayout } from "../protocol/zip-layout.ts";
import type { EvidenceKey } from "../storage/evidence-key.ts";
import { VERSION } from "../version.ts";
import { exportBytes, exportSources, planExport } from "./export.ts";
import { gapsOf } from "./footage-gaps.ts";
import type { Recording } from "./recording-index.ts";

export const EVIDENCE_FORMAT = "camgate-evidence/1";
/** Files of the archive that the manifest does not list (it cannot list itself or its signature). */
export const EVIDENCE_META = ["manifest.json", "manifest.sig", "public-key.pem"] as const;
const MAX_EVENTS = 10_000;
const MAX_SNAPSHOTS = 500;

interface Source {
  size: number;
  /** Bytes [start, end] (inclusive). */
  read(start: number, end: number): AsyncIterable<Buffer>;
}

export interface EvidenceCamera {
  id: string;
  name: string;
}

export interface EvidenceIncident {
  id: string;
  camera: string;
  code: string;
  start: string;
  end: string | null;
  transitions: CamgateEvent[];
}

export interface EvidenceInputs {
  cameras: EvidenceCamera[];
  from: number;
  to: number;
  incident?: EvidenceIncident;
  recordingsDir: string;
  listRecordings(camera: string, from: number, to: number): Promise<Recording[]>;
  events(camera: string, from: number, to: number, limit: number): Promise<CamgateEvent[]>;
  snapshotPath(event: string): Promise<string | undefined>;
  key: EvidenceKey;
  /** What camgate knows of its clock: the system's, and whether it is synchronised (null: cannot tell). */
  clock: { source: string; synchronized: boolean | null };
  now?: () => number;
}

export interface ManifestCamera {
  id: string;
  name: string;
  file: string | null;
  /** Capture time of the MP4's first picture, and how long it plays. */
  startedAt: string | null;
  durationMs: number;
  recordings: string[];
  /** Parts of the window without footage of this camera. */
  gaps: { from: string; to: string }[];
  /** Why the MP4 stops before the window's end, when it does. */
  cut: string | null;
}

export interface EvidenceManifest {
  format: typeof EVIDENCE_FORMAT;
  createdAt: string;
  camgate: string;
  clock: { source: string; synchronized: boolean | null };
  range: { from: string; to: string };
  incident: { id: string; camera: string; code: string; start: string; end: string | null } | null;
  cameras: ManifestCamera[];
  files: { name: string; size: number; sha256: string }[];
  key: { algorithm: "Ed25519"; fingerprint: string };
}

export interface EvidenceArchive {
  manifest: EvidenceManifest;
  layout: ZipLayout;
  size: number;
  sources: Source[];
}

function bufferSource(bytes: Buffer): Source {
  return {
    size: bytes.length,
    async *read(start, end) {
      yield bytes.subarray(start, end + 1);
    },
  };
}

function fileSource(path: string, size: number): Source {
  return {
    size,
    read: (start, end) => createReadStream(path, { start, end }) as AsyncIterable<Buffer>,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

async function hashSource(
  source: Source,
  progress: (bytes: number) => void,
): Promise<{ sha256: string; crc: number }> {
  const hash = createHash("sha256");
  let crc = 0;
  if (source.size > 0)
    for await (const chunk of source.read(0, source.size - 1)) {
      hash.update(chunk);
      crc = crc32(chunk, crc);
      progress(chunk.length);
    }
  return { sha256: hash.digest("hex"), crc };
}

/**
 * Reads and hashes every member, then signs the manifest and lays the archive out. `onProgress` hears the
 * bytes hashed of the total; `signal` stops the work (a job cancelled or expired).
 */
export async function prepareEvidence(
  inputs: EvidenceInputs,
  onProgress: (done: number, total: number) => void = () => undefined,
  signal?: AbortSignal,
): Promise<EvidenceArchive> {
  const now = (inputs.now ?? Date.now)();
  const members: { name: string; source: Source }[] = [];
  const cameras: ManifestCamera[] = [];
  for (const camera of inputs.cameras) {
    const listed = exportSources(await inputs.listRecordings(camera.id, inputs.from, inputs.to));
    const plan = await planExport(inputs.recordingsDir, listed, inputs.from, inputs.to);
    const file = plan ? `cameras/${camera.id}.mp4` : null;
    if (plan && file)
      members.push({ name: file, source: { size: plan.size, read: (s, e) => exportBytes(plan, s, e) } });
    cameras.push({
      id: camera.id,
      name: camera.name,
      file,
      startedAt: plan ? iso(plan.startedAt) : null,
      durationMs: plan ? Math.round(plan.durationMs) : 0,
      recordings: plan?.recordings ?? [],
      gaps: gapsOf(listed, inputs.from, inputs.to, now).map(([a, b]) => ({ from: iso(a), to: iso(b) })),
      cut: plan?.cut ?? null,
    });
  }
  const events = new Map<string, CamgateEvent>();
  for (const camera of inputs.cameras)
    for (const event of await inputs.events(camera.id, inputs.from, inputs.to, MAX_EVENTS))
      events.set(event.id, event);
  for (const event of inputs.incident?.transitions ?? []) events.set(event.id, event);
  const ordered = [...events.values()].sort((a, b) => a.id.localeCompare(b.id));
  members.push({
    name: "events.json",
    source: bufferSource(Buffer.from(`${JSON.stringify(ordered, null, 2)}\n`)),
  });
  for (const event of ordered.filter((e) => e.snapshot).slice(0, MAX_SNAPSHOTS)) {
    const path = await inputs.snapshotPath(event.id);
    if (!path) continue;
    // A snapshot retention removed meanwhile is left out (the event in events.json still names it).
    const { size } = await stat(path).catch(() => ({ size: -1 }));
    if (size > 0)
      members.push({ name: `snapshots/${event.camera}-${event.id}.jpg`, source: fileSource(path, size) });
  }

  const total = members.reduce((n, m) => n + m.source.size, 0);
  let done = 0;
  const hashed: { name: string; source: Source; sha256: string; crc: number }[] = [];
  for (const member of members) {
    if (signal?.aborted) throw signal.reason ?? new Error("cancelled");
    const { sha256, crc } = await hashSource(member.source, (bytes) => {
      done += bytes;
      onProgress(done, total);
    });
    hashed.push({ ...member, sha256, crc });
  }

  const incident = inputs.incident;
  const manifest: EvidenceManifest = {
    format: EVIDENCE_FORMAT,
    createdAt: iso(now),
    camgate: VERSION,
    clock: inputs.clock,
    range: { from: iso(inputs.from), to: iso(inputs.to) },
    incident: incident
      ? {
          id: incident.id,
          camera: incident.camera,
          code: incident.code,
          start: incident.start,
          end: incident.end,
        }
      : null,
    cameras,
    files: hashed.map((m) => ({ name: m.name, size: m.source.size, sha256: m.sha256 })),
    key: { algorithm: "Ed25519", fingerprint: inputs.key.fingerprint },
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const signature = Buffer.from(`${sign(null, manifestBytes, inputs.key.privateKey).toString("base64")}\n`);
  const meta = [
    { name: "manifest.json", bytes: manifestBytes },
    { name: "manifest.sig", bytes: signature },
    { name: "public-key.pem", bytes: Buffer.from(inputs.key.publicPem) },
  ].map((m) => ({ name: m.name, source: bufferSource(m.bytes), crc: crc32(m.bytes) }));
  const all = [...meta, ...hashed];
  const layout = layOutZip(
    all.map((m) => ({ name: m.name, size: m.source.size, crc32: m.crc, modified: now })),
  );
  return { manifest, layout, size: layout.size, sources: all.map((m) => m.source) };
}

/** Bytes [start, end] (inclusive) of a prepared archive, made from the stored files as they are read. */
export async function* evidenceBytes(
  archive: EvidenceArchive,
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  const { layout } = archive;
  for (const [i, member] of layout.members.entries()) {
    const source = archive.sources[i] as Source;
    if (member.dataAt + member.size <= start || member.headerAt > end) continue;
    if (start < member.dataAt) {
      const header = localHeader(member);
      yield header.subarray(
        Math.max(0, start - member.headerAt),
        Math.min(header.length, end + 1 - member.headerAt),
      );
    }
    const from = Math.max(start, member.dataAt) - member.dataAt;
    const to = Math.min(end, member.dataAt + member.size - 1) - member.dataAt;
    if (to >= from) yield* source.read(from, to);
  }
  if (end >= layout.trailerAt)
    yield layout.trailer.subarray(Math.max(0, start - layout.trailerAt), end + 1 - layout.trailerAt);
}
