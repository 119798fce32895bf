/**
 * The DHAV container Dahua firmware records to its SD card (`.dav`): one record per picture, a 24-byte
 * header, extension fields, the Annex B picture, and an 8-byte trailer. The layout is the one FFmpeg's
 * `dhav` demuxer reads (libavformat/dhav.c), so ffprobe reading the emulator's files checks it:
 *
 *   0  "DHAV"   4  type (0xFD key picture, 0xFC other picture)   5  subtype   6  channel   7  sub-number
 *   8  frame number (LE32)   12  record length (LE32, header to trailer)   16  date (LE32, packed below)
 *   20  ms counter (LE16, wraps)   22  extension length   23  checksum (our choice: the sum of bytes 0..22)
 *   ext on key pictures: 0x82 (3 zero bytes, width LE16, height LE16), 0x81 (0, codec 0x02 H.264, fps)
 *   trailer: "dhav" + the record length (LE32), so a reader can walk back from the end.
 *
 * The date packs the camera's wall clock: seconds (6 bits), minutes (6), hours (5), day (5), month (4),
 * year − 2000 (6), from the low bits up.
 */

export interface DhavPicture {
  /** Annex B NAL units (start codes added here). */
  nalus: readonly Uint8Array[];
  keyframe: boolean;
  /** Camera wall-clock time of the picture, as UTC fields (the emulator keeps its clock that way). */
  at: Date;
}

const START_CODE = Buffer.from([0, 0, 0, 1]);

function packedDate(at: Date): number {
  return (
    (at.getUTCSeconds() |
      (at.getUTCMinutes() << 6) |
      (at.getUTCHours() << 12) |
      (at.getUTCDate() << 17) |
      ((at.getUTCMonth() + 1) << 22) |
      ((at.getUTCFullYear() - 2000) << 26)) >>>
    0
  );
}

/** One DHAV record. */
export function dhavRecord(
  picture: DhavPicture,
  frameNumber: number,
  video: { width: number; height: number; fps: number },
): Buffer {
  const ext = picture.keyframe
    ? Buffer.from([
        0x82,
        0,
        0,
        0,
        video.width & 0xff,
        video.width >> 8,
        video.height & 0xff,
        video.height >> 8,
        0x81,
        0,
        0x02,
        video.fps,
      ])
    : Buffer.alloc(0);
  const payload = Buffer.concat(picture.nalus.flatMap((nal) => [START_CODE, Buffer.from(nal)]));
  const length = 24 + ext.length + payload.length + 8;
  const header = Buffer.alloc(24);
  header.write("DHAV", 0, "latin1");
  header[4] = picture.keyframe ? 0xfd : 0xfc;
  header[5] = 0;
  header[6] = 0;
  header[7] = 0;
  header.writeUInt32LE(frameNumber >>> 0, 8);
  header.writeUInt32LE(length, 12);
  header.writeUInt32LE(packedDate(picture.at), 16);
  header.writeUInt16LE(picture.at.getTime() % 65_536, 20);
  header[22] = ext.length;
  let sum = 0;
  for (let i = 0; i < 23; i++) sum += header[i] ?? 0;
  header[23] = sum & 0xff;
  const trailer = Buffer.alloc(8);
  trailer.write("dhav", 0, "latin1");
  trailer.writeUInt32LE(length, 4);
  return Buffer.concat([header, ext, payload, trailer]);
}
