/**
 * Reads back a fragmented MP4 that camgate wrote (a recording cut short by a crash or a power cut): where the
 * init segment ends, where the last complete fragment ends (a torn one after it is to be cut off), and the
 * video time the complete fragments cover. Only top-level boxes are walked, and only camgate's own layout
 * (`moof` with one `traf` of one `tfdt` and one `trun`) is understood; anything else ends the scan there. No I/O.
 */

export interface FragmentScan {
  /** Bytes of ftyp + moov. */
  initBytes: number;
  /** Bytes up to the end of the last complete moof+mdat pair. */
  completeBytes: number;
  fragments: number;
  /** Decode time of the first and last fragment, and the last one's duration (90 kHz). */
  firstDecodeTime: number | undefined;
  lastDecodeTime: number | undefined;
  lastDuration: number;
}

function fourcc(data: Uint8Array, at: number): string {
  return String.fromCharCode(data[at] ?? 0, data[at + 1] ?? 0, data[at + 2] ?? 0, data[at + 3] ?? 0);
}

/** The decode time and sample duration a camgate `moof` states, or undefined for another layout. */
function readMoof(
  view: DataView,
  data: Uint8Array,
  at: number,
  size: number,
): { time: number; duration: number } | undefined {
  let time: number | undefined;
  let duration = 0;
  const walk = (from: number, to: number): void => {
    let p = from;
    while (p + 8 <= to) {
      const boxSize = view.getUint32(p);
      const type = fourcc(data, p + 4);
      if (boxSize < 8 || p + boxSize > to) return;
      if (type === "traf") walk(p + 8, p + boxSize);
      if (type === "tfdt") {
        const version = data[p + 8];
        time =
          version === 1 ? view.getUint32(p + 12) * 2 ** 32 + view.getUint32(p + 16) : view.getUint32(p + 12);
      }
      // trun with data offset, sample duration, size and flags present: the first sample's duration.
      if (type === "trun" && boxSize >= 24) duration = view.getUint32(p + 20);
      p += boxSize;
    }
  };
  walk(at + 8, at + size);
  return time === undefined ? undefined : { time, duration };
}

export function scanFragments(data: Uint8Array): FragmentScan {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const scan: FragmentScan = {
    initBytes: 0,
    completeBytes: 0,
    fragments: 0,
    firstDecodeTime: undefined,
    lastDecodeTime: undefined,
    lastDuration: 0,
  };
  let at = 0;
  let pending: { time: number; duration: number } | undefined;
  while (at + 8 <= data.length) {
    const size = view.getUint32(at);
    const type = fourcc(data, at + 4);
    if (size < 8 || at + size > data.length) break;
    if (type === "ftyp" || type === "moov") {
      at += size;
      scan.initBytes = at;
      scan.completeBytes = at;
      continue;
    }
    if (type === "moof") pending = readMoof(view, data, at, size);
    else if (type === "mdat" && pending) {
      scan.fragments++;
      scan.firstDecodeTime ??= pending.time;
      scan.lastDecodeTime = pending.time;
      scan.lastDuration = pending.duration;
      scan.completeBytes = at + size;
      pending = undefined;
    } else break;
    at += size;
  }
  return scan;
}
