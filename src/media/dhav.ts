/**
 * Reads DHAV, the container Dahua firmware records to its SD card and sends from `loadfile.cgi` (a `.dav`
 * file): records of a 24-byte header, extension fields, the payload, and an 8-byte trailer. The layout is
 * the one FFmpeg's demuxer reads (libavformat/dhav.c, Paul B Mahol):
 *
 *   0 "DHAV"  4 type (0xFD key picture, 0xFC other picture, 0xF0 audio, 0xF1 auxiliary data)  5 subtype
 *   6 channel  7 sub-number  8 frame number (LE32)  12 record length (LE32, header to trailer)
 *   16 date (LE32: seconds 6 bits, minutes 6, hours 5, day 5, month 4, year − 2000 6, from the low bits)
 *   20 ms counter (LE16, wraps)  22 extension length  23 checksum; trailer "dhav" + the length (LE32).
 *
 * Extension fields (FFmpeg's parse_ext): 0x80 (4 bytes: width/8, height/8), 0x81 (4: codec, frame rate),
 * 0x82 (8: width, height LE16), 0x83 (4: audio), other known types are 4 or 8 bytes long, an unknown one
 * ends the extension. Firmware puts a preamble of varying length before the first record of a download
 * (9,733 and 12,770 bytes seen, aiodahua): bytes before a "DHAV" are skipped, as they are after a damaged
 * record. Pure and bounded: a record longer than `MAX_RECORD_BYTES` is skipped, and no more than one record
 * (plus what is being searched) is held.
 */

export const MAX_RECORD_BYTES = 8 * 1024 * 1024;

export type DhavCodec = "h264" | "h265" | "other";

export interface DhavRecord {
  kind: "video" | "audio" | "other";
  keyframe: boolean;
  frameNumber: number;
  /** The camera's wall clock at the record, as UTC fields (no zone is stored), seconds only. */
  date: Date;
  /** A millisecond counter that wraps at 65,536: the step between pictures. */
  ms: number;
  /** From the extension of a key picture, when it has one. */
  width?: number;
  height?: number;
  codec?: DhavCodec;
  fps?: number;
  payload: Uint8Array;
}

const MAGIC = Buffer.from("DHAV", "latin1");
const FOUR_BYTE_EXT = new Set([0x80, 0x81, 0x83, 0x84, 0x85, 0x8b, 0x94, 0x96, 0xa0, 0xb2, 0xb4]);
const EIGHT_BYTE_EXT = new Set([0x82, 0x88, 0x8c, 0x91, 0x92, 0x93, 0x95, 0x9a, 0x9b, 0xb3]);

export function dhavDate(packed: number): Date {
  return new Date(
    Date.UTC(
      2000 + ((packed >>> 26) & 0x3f),
      ((packed >>> 22) & 0x0f) - 1,
      (packed >>> 17) & 0x1f,
      (packed >>> 12) & 0x1f,
      (packed >>> 6) & 0x3f,
      packed & 0x3f,
    ),
  );
}

function codecOf(value: number): DhavCodec {
  // FFmpeg's mapping: 2, 4 and 8 are H.264, 0xC is H.265 (1 MPEG-4, 3 MJPEG are not played here).
  if (value === 0x2 || value === 0x4 || value === 0x8) return "h264";
  if (value === 0xc) return "h265";
  return "other";
}

function readExtension(ext: Buffer, record: DhavRecord): void {
  let at = 0;
  while (at < ext.length) {
    const type = ext[at] as number;
    const length = FOUR_BYTE_EXT.has(type) ? 4 : EIGHT_BYTE_EXT.has(type) ? 8 : 0;
    if (length === 0 || at + length > ext.length) return;
    if (type === 0x80) {
      record.width = 8 * (ext[at + 2] as number);
      record.height = 8 * (ext[at + 3] as number);
    } else if (type === 0x81) {
      record.codec = codecOf(ext[at + 2] as number);
      record.fps = ext[at + 3] as number;
    } else if (type === 0x82) {
      record.width = ext.readUInt16LE(at + 4);
      record.height = ext.readUInt16LE(at + 6);
    }
    at += length;
  }
}

export class DhavReader {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes skipped looking for a record (a preamble, damage). */
  skipped = 0;
  records = 0;

  /** Takes the next bytes of the stream; returns the whole records they complete. */
  push(chunk: Uint8Array): DhavRecord[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const out: DhavRecord[] = [];
    for (;;) {
      const start = this.pending.indexOf(MAGIC);
      if (start < 0) {
        // Keep the last 3 bytes: "DHAV" may be cut across chunks.
        const keep = Math.min(3, this.pending.length);
        this.skipped += this.pending.length - keep;
        this.pending = this.pending.subarray(this.pending.length - keep);
        return out;
      }
      if (start > 0) {
        this.skipped += start;
        this.pending = this.pending.subarray(start);
      }
      if (this.pending.length < 24) return out;
      const length = this.pending.readUInt32LE(12);
      const type = this.pending[4] as number;
      if (length < 24 || length > MAX_RECORD_BYTES) {
        this.skip(4);
        continue;
      }
      if (this.pending.length < length) return out;
      const extLength = type === 0xf1 ? 0 : (this.pending[22] as number);
      const payloadAt = 24 + extLength;
      // The trailer ("dhav" + length) closes a whole record; a record without it is damage: look further.
      const trailerAt = length - 8;
      if (payloadAt > trailerAt || this.pending.toString("latin1", trailerAt, trailerAt + 4) !== "dhav") {
        this.skip(4);
        continue;
      }
      const record: DhavRecord = {
        kind: type === 0xfd || type === 0xfc ? "video" : type === 0xf0 ? "audio" : "other",
        keyframe: type === 0xfd,
        frameNumber: this.pending.readUInt32LE(8),
        date: dhavDate(this.pending.readUInt32LE(16)),
        ms: this.pending.readUInt16LE(20),
        payload: Uint8Array.prototype.slice.call(this.pending.subarray(payloadAt, trailerAt)),
      };
      readExtension(this.pending.subarray(24, payloadAt), record);
      out.push(record);
      this.records++;
      this.pending = this.pending.subarray(length);
    }
  }

  private skip(bytes: number): void {
    this.skipped += bytes;
    this.pending = this.pending.subarray(bytes);
  }
}
