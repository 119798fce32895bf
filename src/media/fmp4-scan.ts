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

/** What a camgate `moof` states about its one sample. */
export interface MoofFields {
  /** `tfdt` base decode time (90 kHz). */
  time: number;
  /** The sample's duration (`trun`). */
  duration: number;
  /** The sample is a sync sample (`trun` sample flags without the non-sync bit). */
  keyframe: boolean;
}

/** Where a camgate `moof`'s `mfhd` sequence number and `tfdt` decode time are, to rewrite them in place. */
interface MoofLayout extends MoofFields {
  sequenceAt: number | undefined;
  timeAt: number | undefined;
  timeVersion: number;
}

const NON_SYNC_SAMPLE = 0x00010000;

function layoutOf(view: DataView, data: Uint8Array, at: number, size: number): MoofLayout | undefined {
  let time: number | undefined;
  const layout: MoofLayout = {
    time: 0,
    duration: 0,
    keyframe: false,
    sequenceAt: undefined,
    timeAt: undefined,
    timeVersion: 0,
  };
  const walk = (from: number, to: number): void => {
    let p = from;
    while (p + 8 <= to) {
      const boxSize = view.getUint32(p);
      const type = fourcc(data, p + 4);
      if (boxSize < 8 || p + boxSize > to) return;
      if (type === "traf") walk(p + 8, p + boxSize);
      if (type === "mfhd" && boxSize >= 16) layout.sequenceAt = p + 12;
      if (type === "tfdt" && boxSize >= 16) {
        const version = data[p + 8] ?? 0;
        if (version === 1 && boxSize < 20) return;
        layout.timeVersion = version;
        layout.timeAt = p + 12;
        time =
          version === 1 ? view.getUint32(p + 12) * 2 ** 32 + view.getUint32(p + 16) : view.getUint32(p + 12);
      }
      // trun with data offset, sample duration, size and flags present: the first sample's duration, flags.
      if (type === "trun" && boxSize >= 32) {
        layout.duration = view.getUint32(p + 20);
        layout.keyframe = (view.getUint32(p + 28) & NON_SYNC_SAMPLE) === 0;
      }
      p += boxSize;
    }
  };
  walk(at + 8, at + size);
  if (time === undefined) return undefined;
  layout.time = time;
  return layout;
}

/** The sample a camgate `moof` (the whole box, from its size field) describes, or undefined for another layout. */
export function readMoof(moof: Uint8Array): MoofFields | undefined {
  const view = new DataView(moof.buffer, moof.byteOffset, moof.byteLength);
  if (moof.length < 8 || fourcc(moof, 4) !== "moof" || view.getUint32(0) > moof.length) return undefined;
  const layout = layoutOf(view, moof, 0, view.getUint32(0));
  return layout && { time: layout.time, duration: layout.duration, keyframe: layout.keyframe };
}

/**
 * Rewrites a camgate `moof` in place with a new decode time and sequence number (an export that puts
 * fragments of several files on one timeline). False, and nothing changed, for another layout or a time a
 * version 0 `tfdt` cannot hold.
 */
export function retimeMoof(moof: Uint8Array, decodeTime: number, sequence: number): boolean {
  const view = new DataView(moof.buffer, moof.byteOffset, moof.byteLength);
  if (moof.length < 8 || fourcc(moof, 4) !== "moof" || view.getUint32(0) > moof.length) return false;
  const layout = layoutOf(view, moof, 0, view.getUint32(0));
  if (!layout || layout.timeAt === undefined || layout.sequenceAt === undefined) return false;
  const time = Math.max(0, Math.floor(decodeTime));
  if (layout.timeVersion === 1) {
    view.setUint32(layout.timeAt, Math.floor(time / 2 ** 32));
    view.setUint32(layout.timeAt + 4, time % 2 ** 32);
  } else if (time <= 0xffffffff) view.setUint32(layout.timeAt, time);
  else return false;
  view.setUint32(layout.sequenceAt, sequence >>> 0);
  return true;
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
  let pending: MoofFields | undefined;
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
    if (type === "moof") pending = layoutOf(view, data, at, size);
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
