/**
 * `camgate verify`: checks an evidence archive without trusting it. The manifest's signature against the
 * public key (the one in the archive, and the fingerprint the owner expects when given), then every file the
 * manifest lists: present, its size, its SHA-256 and the ZIP's CRC-32, read from the archive as stored;
 * and no file the manifest does not list. Reads the archive through a file handle (any size), a member at
 * a time.
 */
import { createHash, createPublicKey, verify } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { crc32 } from "node:zlib";
import {
  findEndRecord,
  localHeaderLength,
  parseCentralDirectory,
  type ZipEntry,
  ZipFormatError,
} from "../protocol/zip-layout.ts";
import { keyFingerprint } from "../storage/evidence-key.ts";
import { EVIDENCE_FORMAT, EVIDENCE_META, type EvidenceManifest } from "./evidence.ts";

export interface VerifyResult {
  ok: boolean;
  /** One line per check, `ok` or what is wrong. */
  lines: string[];
  manifest?: EvidenceManifest;
  fingerprint?: string;
}

const CHUNK = 1024 * 1024;
/** A manifest, signature or key larger than this is not camgate's (read whole into memory). */
const MAX_META_BYTES = 16 * 1024 * 1024;

async function readAt(handle: FileHandle, at: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, at);
  return buffer.subarray(0, bytesRead);
}

async function entriesOf(handle: FileHandle): Promise<ZipEntry[]> {
  const { size } = await handle.stat();
  const tailLength = Math.min(size, 22 + 0xffff);
  const end = findEndRecord(await readAt(handle, size - tailLength, tailLength));
  if (end.centralAt + end.centralSize > size) throw new ZipFormatError("the central directory is cut short");
  return parseCentralDirectory(await readAt(handle, end.centralAt, end.centralSize), end.count);
}

/** Streams a member's stored bytes through `each`; returns its CRC-32. */
async function walk(handle: FileHandle, entry: ZipEntry, each: (chunk: Buffer) => void): Promise<number> {
  if (entry.method !== 0) throw new ZipFormatError(`${entry.name}: compressed (camgate stores members)`);
  const dataAt = entry.headerAt + localHeaderLength(await readAt(handle, entry.headerAt, 30 + 0xffff * 2));
  let crc = 0;
  for (let at = 0; at < entry.size; at += CHUNK) {
    const chunk = await readAt(handle, dataAt + at, Math.min(CHUNK, entry.size - at));
    if (chunk.length === 0) throw new ZipFormatError(`${entry.name}: cut short`);
    each(chunk);
    crc = crc32(chunk, crc);
  }
  return crc;
}

async function whole(handle: FileHandle, entry: ZipEntry | undefined, name: string): Promise<Buffer> {
  if (!entry) throw new ZipFormatError(`no ${name} in the archive`);
  if (entry.size > MAX_META_BYTES) throw new ZipFormatError(`${name} is too large to be camgate's`);
  const parts: Buffer[] = [];
  const crc = await walk(handle, entry, (chunk) => parts.push(chunk));
  if (crc >>> 0 !== entry.crc32 >>> 0) throw new ZipFormatError(`${name}: its CRC does not match`);
  return Buffer.concat(parts);
}

export async function verifyEvidence(path: string, expectedFingerprint?: string): Promise<VerifyResult> {
  const lines: string[] = [];
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, "r");
    const entries = await entriesOf(handle);
    const byName = new Map(entries.map((e) => [e.name, e]));
    const manifestBytes = await whole(handle, byName.get("manifest.json"), "manifest.json");
    const signature = Buffer.from(
      (await whole(handle, byName.get("manifest.sig"), "manifest.sig")).toString().trim(),
      "base64",
    );
    const publicKey = createPublicKey(
      (await whole(handle, byName.get("public-key.pem"), "public-key.pem")).toString(),
    );
    const fingerprint = keyFingerprint(publicKey);
    const signed =
      publicKey.asymmetricKeyType === "ed25519" && verify(null, manifestBytes, publicKey, signature);
    lines.push(
      signed
        ? `ok    signature of manifest.json (Ed25519, key ${fingerprint})`
        : "FAIL  the manifest's signature does not verify",
    );
    if (expectedFingerprint !== undefined)
      lines.push(
        expectedFingerprint === fingerprint
          ? "ok    the key is the one expected"
          : `FAIL  signed with key ${fingerprint}, not the expected ${expectedFingerprint}`,
      );
    const manifest = JSON.parse(manifestBytes.toString("utf8")) as EvidenceManifest;
    if (manifest.format !== EVIDENCE_FORMAT)
      lines.push(`FAIL  format ${String(manifest.format)} is not ${EVIDENCE_FORMAT}`);
    if (manifest.key?.fingerprint !== fingerprint)
      lines.push("FAIL  the manifest names another key than the archive's public key");
    for (const file of manifest.files ?? []) {
      const entry = byName.get(file.name);
      if (!entry) {
        lines.push(`FAIL  ${file.name}: missing`);
        continue;
      }
      const hash = createHash("sha256");
      const crc = await walk(handle, entry, (chunk) => hash.update(chunk));
      const sha256 = hash.digest("hex");
      if (entry.size !== file.size)
        lines.push(`FAIL  ${file.name}: ${entry.size} bytes, the manifest says ${file.size}`);
      else if (sha256 !== file.sha256) lines.push(`FAIL  ${file.name}: its SHA-256 is not the manifest's`);
      else if (crc >>> 0 !== entry.crc32 >>> 0)
        lines.push(`FAIL  ${file.name}: its CRC does not match the archive's`);
      else lines.push(`ok    ${file.name} (${file.size} bytes, sha256 ${sha256.slice(0, 16)}…)`);
    }
    const listed = new Set<string>([...EVIDENCE_META, ...(manifest.files ?? []).map((f) => f.name)]);
    for (const entry of entries)
      if (!listed.has(entry.name)) lines.push(`FAIL  ${entry.name}: not in the manifest`);
    return { ok: lines.every((l) => l.startsWith("ok")), lines, manifest, fingerprint };
  } catch (error) {
    lines.push(`FAIL  ${error instanceof Error ? error.message : String(error)}`);
    return { ok: false, lines };
  } finally {
    await handle?.close();
  }
}
