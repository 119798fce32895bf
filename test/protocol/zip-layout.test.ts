/**
 * ZIP layout and evidence byte ranges, as properties: for any members, the central directory read back names
 * each member with its size, CRC and place; and any byte range of an archive made on demand is exactly that
 * slice of the whole archive (what makes a broken download resume). Gaps in footage: found, and none where
 * recordings follow one another.
 */
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  findEndRecord,
  layOutZip,
  localHeaderLength,
  parseCentralDirectory,
  ZipFormatError,
} from "../../src/protocol/zip-layout.ts";
import { type EvidenceArchive, evidenceBytes } from "../../src/recording/evidence.ts";
import { gapsOf } from "../../src/recording/footage-gaps.ts";
import type { Recording } from "../../src/recording/recording-index.ts";

function archiveOf(members: { name: string; bytes: Buffer }[]): EvidenceArchive {
  const layout = layOutZip(
    members.map((m) => ({
      name: m.name,
      size: m.bytes.length,
      crc32: crc32(m.bytes),
      modified: Date.UTC(2026, 11, 7, 12),
    })),
  );
  return {
    manifest: {} as EvidenceArchive["manifest"],
    layout,
    size: layout.size,
    sources: members.map((m) => ({
      size: m.bytes.length,
      async *read(start: number, end: number) {
        // Small pieces, as files are read: ranges must be cut inside them too.
        for (let at = start; at <= end; at += 7) yield m.bytes.subarray(at, Math.min(end + 1, at + 7));
      },
    })),
  };
}

async function bytes(archive: EvidenceArchive, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of evidenceBytes(archive, start, end)) parts.push(part);
  return Buffer.concat(parts);
}

const members = fc.uniqueArray(
  fc.record({
    name: fc.stringMatching(/^[a-z0-9/._é-]{1,24}$/),
    bytes: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  }),
  { minLength: 1, maxLength: 6, selector: (m) => m.name },
);

describe("ZIP layout", () => {
  it("reads back every member's name, size, CRC and data from the central directory", async () => {
    await fc.assert(
      fc.asyncProperty(members, async (list) => {
        const archive = archiveOf(list);
        const whole = await bytes(archive, 0, archive.size - 1);
        expect(whole.length).toBe(archive.size);
        const end = findEndRecord(whole);
        const entries = parseCentralDirectory(
          whole.subarray(end.centralAt, end.centralAt + end.centralSize),
          end.count,
        );
        expect(entries.map((e) => e.name)).toEqual(list.map((m) => m.name));
        for (const [i, entry] of entries.entries()) {
          const member = list[i] as { bytes: Buffer };
          const dataAt = entry.headerAt + localHeaderLength(whole.subarray(entry.headerAt));
          expect(entry.size).toBe(member.bytes.length);
          expect(entry.crc32).toBe(crc32(member.bytes));
          expect(whole.subarray(dataAt, dataAt + entry.size)).toEqual(member.bytes);
        }
      }),
    );
  });

  it("makes any byte range as the same slice of the whole archive", async () => {
    await fc.assert(
      fc.asyncProperty(members, fc.nat(), fc.nat(), async (list, a, b) => {
        const archive = archiveOf(list);
        const whole = await bytes(archive, 0, archive.size - 1);
        const start = a % archive.size;
        const end = start + (b % (archive.size - start));
        expect(await bytes(archive, start, end)).toEqual(whole.subarray(start, end + 1));
      }),
    );
  });

  it("says what is wrong with what is not a ZIP", () => {
    expect(() => findEndRecord(Buffer.from("not an archive at all, just some words"))).toThrow(
      ZipFormatError,
    );
    expect(() => parseCentralDirectory(Buffer.alloc(10), 1)).toThrow(/damaged/);
  });
});

describe("gaps in footage", () => {
  const recording = (start: number, durationMs: number): Recording => ({
    id: String(start),
    camera: "yard",
    kind: "segment",
    incident: null,
    file: "x",
    start: new Date(start).toISOString(),
    end: new Date(start + durationMs).toISOString(),
    durationMs,
    bytes: 1,
    state: "done",
    error: null,
  });

  it("lists the parts of the window without footage, and none between files that follow one another", () => {
    const t = Date.UTC(2026, 11, 7, 12);
    const list = [
      recording(t + 10_000, 60_000),
      recording(t + 70_200, 60_000),
      recording(t + 200_000, 60_000),
    ];
    expect(gapsOf(list, t, t + 300_000, t + 400_000)).toEqual([
      [t, t + 10_000],
      [t + 130_200, t + 200_000],
      [t + 260_000, t + 300_000],
    ]);
    expect(gapsOf([], t, t + 1000, t)).toEqual([]);
    expect(gapsOf([], t, t + 5000, t)).toEqual([[t, t + 5000]]);
  });
});
