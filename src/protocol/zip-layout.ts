/**
 * ZIP archives of stored (uncompressed) members, laid out before a byte is sent: each member's size and
 * CRC-32 are known, so the local headers carry them (no data descriptors), every byte of the archive has a
 * fixed place, and any byte range of it can be produced on demand (a download resumes where it broke).
 * Video does not compress, and stored members are what every unzip reads. Pure: headers in, headers out.
 *
 * APPNOTE.TXT (PKWARE, 6.3.10): local file header 4.3.7, central directory header 4.3.12, end of central
 * directory 4.3.16; bit 11 of the flags says the names are UTF-8. ZIP64 is not written: an archive stays
 * under 4 GiB (the caller refuses a larger one with a clear message).
 */

export const ZIP_MAX_BYTES = 0xffff_fffe;

export interface ZipMember {
  name: string;
  size: number;
  crc32: number;
  /** Modification time (ms since epoch); DOS time keeps it to 2 s, local time. */
  modified: number;
}

export interface ZipPlacedMember extends ZipMember {
  /** Where its local header starts, and where its data starts. */
  headerAt: number;
  dataAt: number;
}

export interface ZipLayout {
  members: ZipPlacedMember[];
  /** The central directory and its end record, the archive's last bytes. */
  trailer: Buffer;
  trailerAt: number;
  size: number;
}

const UTF8_NAMES = 0x0800;

function dosTime(ms: number): { time: number; date: number } {
  const d = new Date(ms);
  const year = Math.max(1980, d.getFullYear());
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

export function localHeader(member: ZipMember): Buffer {
  const name = Buffer.from(member.name, "utf8");
  const { time, date } = dosTime(member.modified);
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(20, 4); // version needed: 2.0
  header.writeUInt16LE(UTF8_NAMES, 6);
  header.writeUInt16LE(0, 8); // stored
  header.writeUInt16LE(time, 10);
  header.writeUInt16LE(date, 12);
  header.writeUInt32LE(member.crc32 >>> 0, 14);
  header.writeUInt32LE(member.size, 18);
  header.writeUInt32LE(member.size, 22);
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(0, 28);
  return Buffer.concat([header, name]);
}

function centralHeader(member: ZipPlacedMember): Buffer {
  const name = Buffer.from(member.name, "utf8");
  const { time, date } = dosTime(member.modified);
  const header = Buffer.alloc(46);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0 (so the mode below is read)
  header.writeUInt16LE(20, 6);
  header.writeUInt16LE(UTF8_NAMES, 8);
  header.writeUInt16LE(0, 10);
  header.writeUInt16LE(time, 12);
  header.writeUInt16LE(date, 14);
  header.writeUInt32LE(member.crc32 >>> 0, 16);
  header.writeUInt32LE(member.size, 20);
  header.writeUInt32LE(member.size, 24);
  header.writeUInt16LE(name.length, 28);
  header.writeUInt16LE(0, 30); // extra
  header.writeUInt16LE(0, 32); // comment
  header.writeUInt16LE(0, 34); // disk
  header.writeUInt16LE(0, 36); // internal attributes
  header.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
  header.writeUInt32LE(member.headerAt, 42);
  return Buffer.concat([header, name]);
}

/** Where every member goes; throws a RangeError when the archive would pass what ZIP without ZIP64 holds. */
export function layOutZip(members: readonly ZipMember[]): ZipLayout {
  if (members.length > 0xfffe) throw new RangeError("too many members for a ZIP without ZIP64");
  let at = 0;
  const placed: ZipPlacedMember[] = [];
  for (const member of members) {
    const headerAt = at;
    const dataAt = headerAt + localHeader(member).length;
    at = dataAt + member.size;
    placed.push({ ...member, headerAt, dataAt });
  }
  const central = Buffer.concat(placed.map(centralHeader));
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(placed.length, 8);
  end.writeUInt16LE(placed.length, 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(at, 16);
  const size = at + central.length + end.length;
  if (size > ZIP_MAX_BYTES)
    throw new RangeError(`the archive would be ${size} bytes, more than ZIP holds without ZIP64`);
  return { members: placed, trailer: Buffer.concat([central, end]), trailerAt: at, size };
}

export interface ZipEntry {
  name: string;
  size: number;
  crc32: number;
  method: number;
  /** Where its local header starts (its data follows the header's name and extra field). */
  headerAt: number;
}

/** Why an archive cannot be read (a typed code for the CLI, a sentence for people). */
export class ZipFormatError extends Error {
  readonly code = "bad-zip";
  constructor(message: string) {
    super(message);
    this.name = "ZipFormatError";
  }
}

/** The end record in an archive's last bytes (`tail`, ending where the archive ends): the directory's place. */
export function findEndRecord(tail: Buffer): { count: number; centralAt: number; centralSize: number } {
  // The end record is the last 22 bytes when there is no comment (what camgate writes); a comment moves it.
  for (let at = tail.length - 22; at >= 0; at--)
    if (tail.readUInt32LE(at) === 0x06054b50)
      return {
        count: tail.readUInt16LE(at + 10),
        centralSize: tail.readUInt32LE(at + 12),
        centralAt: tail.readUInt32LE(at + 16),
      };
  throw new ZipFormatError("no end of central directory: not a ZIP archive, or cut short");
}

/** The members the central directory lists (`central` is the directory's bytes, `count` its entries). */
export function parseCentralDirectory(central: Buffer, count: number): ZipEntry[] {
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > central.length || central.readUInt32LE(at) !== 0x02014b50)
      throw new ZipFormatError(`central directory entry ${i + 1} is damaged`);
    const nameLength = central.readUInt16LE(at + 28);
    if (at + 46 + nameLength > central.length)
      throw new ZipFormatError(`central directory entry ${i + 1} is cut`);
    entries.push({
      name: central.subarray(at + 46, at + 46 + nameLength).toString("utf8"),
      method: central.readUInt16LE(at + 10),
      crc32: central.readUInt32LE(at + 16),
      size: central.readUInt32LE(at + 24),
      headerAt: central.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + central.readUInt16LE(at + 30) + central.readUInt16LE(at + 32);
  }
  return entries;
}

/** How far a member's data is from its local header's start (the 30 fixed bytes, the name, the extra field). */
export function localHeaderLength(header: Buffer): number {
  if (header.length < 30 || header.readUInt32LE(0) !== 0x04034b50)
    throw new ZipFormatError("a local header is damaged");
  return 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
}
