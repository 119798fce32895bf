/**
 * Fragmented MP4 (ISO/IEC 14496-12 and -15) for live playback in Media Source Extensions: an init segment
 * (`ftyp` + `moov` with `avc1`/`avcC`, `hvc1`/`hvcC` and `mp4a`/`esds`), then one `moof` + `mdat` per access
 * unit. A fragment per access unit is what makes MSE live: mediabunny and ffmpeg's `frag_keyframe` cut a
 * fragment per GOP, a whole GOP of latency. Written by hand (go2rtc's pkg/mp4 and mediacommon's fmp4 were
 * read for the facts); no I/O. Every fragment is one buffer, made once and shared by every viewer.
 */
import type { VideoCodec } from "./access-unit.ts";
import { unescapeRbsp } from "./bits.ts";
import { H264_NAL, h264NalType, type VideoParameters } from "./h264.ts";
import { H265_NAL, h265NalType } from "./h265.ts";

export const VIDEO_TRACK_ID = 1;
export const AUDIO_TRACK_ID = 2;
/** Video runs on the RTP clock: timestamps pass through without rounding. */
export const VIDEO_TIMESCALE = 90_000;

export interface Fmp4VideoTrack {
  codec: VideoCodec;
  /** SPS and PPS (H.264) or VPS, SPS and PPS (H.265), without start codes. */
  parameterSets: readonly Uint8Array[];
  parameters: VideoParameters;
}

export interface Fmp4AudioTrack {
  /** AAC only: G.711 has no MP4 sample entry browsers take (go2rtc transcodes it to FLAC). */
  codec: "aac";
  sampleRate: number;
  channels: number;
  /** The AudioSpecificConfig. */
  config: Uint8Array;
  /** `mp4a.40.2` */
  codecString: string;
}

export class Fmp4Error extends Error {
  readonly code = "fmp4-unsupported";
  constructor(message: string) {
    super(message);
    this.name = "Fmp4Error";
  }
}

/** The MIME type with its codecs parameter, for `MediaSource.isTypeSupported` and `addSourceBuffer`. */
export function mimeType(video: Fmp4VideoTrack, audio?: Fmp4AudioTrack): string {
  const codecs = [video.parameters.codec, ...(audio ? [audio.codecString] : [])];
  return `video/mp4; codecs="${codecs.join(",")}"`;
}

// --- box writing -------------------------------------------------------------------------------------------

type Part = Uint8Array | number[];

function concat(parts: readonly Part[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function box(type: string, ...body: Part[]): Uint8Array {
  const payload = concat(body);
  const out = new Uint8Array(8 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(payload, 8);
  return out;
}

function fullBox(type: string, version: number, flags: number, ...body: Part[]): Uint8Array {
  return box(type, [version, (flags >> 16) & 0xff, (flags >> 8) & 0xff, flags & 0xff], ...body);
}

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const zeros = (n: number): number[] => new Array<number>(n).fill(0);
const ascii = (text: string): number[] => [...text].map((ch) => ch.charCodeAt(0));

/** The unity matrix of tkhd and mvhd. */
const MATRIX = [
  ...u32(0x00010000),
  ...u32(0),
  ...u32(0),
  ...u32(0),
  ...u32(0x00010000),
  ...u32(0),
  ...u32(0),
  ...u32(0),
  ...u32(0x40000000),
];

// --- init segment ------------------------------------------------------------------------------------------

function ftyp(): Uint8Array {
  return box("ftyp", ascii("iso5"), u32(512), ascii("iso5"), ascii("iso6"), ascii("mp41"));
}

function mvhd(nextTrackId: number): Uint8Array {
  return fullBox(
    "mvhd",
    0,
    0,
    u32(0),
    u32(0),
    u32(1000),
    u32(0),
    u32(0x00010000),
    u16(0x0100),
    zeros(10),
    MATRIX,
    zeros(24),
    u32(nextTrackId),
  );
}

function tkhd(trackId: number, audio: boolean, width: number, height: number): Uint8Array {
  return fullBox(
    "tkhd",
    0,
    0x3, // enabled, in movie
    u32(0),
    u32(0),
    u32(trackId),
    u32(0),
    u32(0),
    zeros(8),
    u16(0),
    u16(0),
    u16(audio ? 0x0100 : 0),
    u16(0),
    MATRIX,
    u32(width * 65536),
    u32(height * 65536),
  );
}

function mdhd(timescale: number): Uint8Array {
  // Language "und", packed as three 5-bit letters.
  return fullBox("mdhd", 0, 0, u32(0), u32(0), u32(timescale), u32(0), u16(0x55c4), u16(0));
}

function hdlr(audio: boolean): Uint8Array {
  const name = audio ? "SoundHandler" : "VideoHandler";
  return fullBox("hdlr", 0, 0, u32(0), ascii(audio ? "soun" : "vide"), zeros(12), ascii(name), [0]);
}

function dinf(): Uint8Array {
  return box("dinf", fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1)));
}

function stbl(sampleEntry: Uint8Array): Uint8Array {
  return box(
    "stbl",
    fullBox("stsd", 0, 0, u32(1), sampleEntry),
    fullBox("stts", 0, 0, u32(0)),
    fullBox("stsc", 0, 0, u32(0)),
    fullBox("stsz", 0, 0, u32(0), u32(0)),
    fullBox("stco", 0, 0, u32(0)),
  );
}

function findNal(track: Fmp4VideoTrack, type: number): Uint8Array {
  const typeOf = track.codec === "h264" ? h264NalType : h265NalType;
  const nal = track.parameterSets.find((candidate) => typeOf(candidate) === type);
  if (!nal) throw new Fmp4Error(`the stream has no ${track.codec} parameter set of type ${type} yet`);
  return nal;
}

const withLength16 = (nal: Uint8Array): Part[] => [u16(nal.length), nal];

/** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1). */
function avcC(track: Fmp4VideoTrack): Uint8Array {
  const sps = findNal(track, H264_NAL.sps);
  const pps = findNal(track, H264_NAL.pps);
  const profile = sps[1] ?? 0;
  const parts: Part[] = [
    [1, profile, sps[2] ?? 0, sps[3] ?? 0, 0xff /* 4-byte lengths */, 0xe1 /* one SPS */],
    ...withLength16(sps),
    [1],
    ...withLength16(pps),
  ];
  // The High profiles' extension (chroma 4:2:0, 8 bits: what cameras send), as ffmpeg writes it.
  if ([100, 110, 122, 144].includes(profile)) parts.push([0xfd, 0xf8, 0xf8, 0]);
  return box("avcC", ...parts);
}

/** HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1); profile, tier and level copied from the SPS. */
function hvcC(track: Fmp4VideoTrack): Uint8Array {
  const vps = findNal(track, H265_NAL.vps);
  const sps = findNal(track, H265_NAL.sps);
  const pps = findNal(track, H265_NAL.pps);
  const rbsp = unescapeRbsp(sps.subarray(2));
  if (rbsp.length < 13) throw new Fmp4Error("the H.265 SPS is too short for its profile_tier_level");
  const first = rbsp[0] as number;
  const maxSubLayersMinus1 = (first >> 1) & 0x7;
  const temporalIdNested = first & 0x1;
  const profileTierLevel = rbsp.subarray(1, 13);
  const array = (type: number, nal: Uint8Array): Part[] => [[0x80 | type], u16(1), ...withLength16(nal)];
  return box(
    "hvcC",
    [1],
    profileTierLevel,
    [0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0],
    [((maxSubLayersMinus1 + 1) << 3) | (temporalIdNested << 2) | 0x3],
    [3],
    ...array(H265_NAL.vps, vps),
    ...array(H265_NAL.sps, sps),
    ...array(H265_NAL.pps, pps),
  );
}

function visualSampleEntry(track: Fmp4VideoTrack): Uint8Array {
  const { width, height } = track.parameters;
  return box(
    track.codec === "h264" ? "avc1" : "hvc1",
    zeros(6),
    u16(1),
    zeros(16),
    u16(width),
    u16(height),
    u32(0x00480000),
    u32(0x00480000),
    u32(0),
    u16(1),
    zeros(32),
    u16(0x0018),
    u16(0xffff),
    track.codec === "h264" ? avcC(track) : hvcC(track),
  );
}

/** An MPEG-4 descriptor: tag, then its size in the 4-byte expandable form, then the body. */
function descriptor(tag: number, ...body: Part[]): Uint8Array {
  const payload = concat(body);
  const n = payload.length;
  return concat([
    [tag, 0x80 | ((n >> 21) & 0x7f), 0x80 | ((n >> 14) & 0x7f), 0x80 | ((n >> 7) & 0x7f), n & 0x7f],
    payload,
  ]);
}

function audioSampleEntry(track: Fmp4AudioTrack): Uint8Array {
  const esds = fullBox(
    "esds",
    0,
    0,
    descriptor(
      0x03, // ES_Descriptor
      u16(AUDIO_TRACK_ID),
      [0],
      descriptor(
        0x04,
        [0x40 /* AAC */, 0x15 /* audio stream */],
        [0, 0, 0],
        u32(0),
        u32(0),
        descriptor(0x05, track.config),
      ),
      descriptor(0x06, [0x02]),
    ),
  );
  return box(
    "mp4a",
    zeros(6),
    u16(1),
    zeros(8),
    u16(track.channels),
    u16(16),
    u16(0),
    u16(0),
    u32(Math.min(track.sampleRate, 0xffff) * 65536),
    esds,
  );
}

function trak(
  trackId: number,
  audio: Fmp4AudioTrack | undefined,
  video: Fmp4VideoTrack | undefined,
): Uint8Array {
  const isAudio = audio !== undefined;
  const width = video?.parameters.width ?? 0;
  const height = video?.parameters.height ?? 0;
  const sampleEntry = audio ? audioSampleEntry(audio) : visualSampleEntry(video as Fmp4VideoTrack);
  const header = isAudio ? fullBox("smhd", 0, 0, u16(0), u16(0)) : fullBox("vmhd", 0, 1, zeros(8));
  return box(
    "trak",
    tkhd(trackId, isAudio, width, height),
    box(
      "mdia",
      mdhd(audio ? audio.sampleRate : VIDEO_TIMESCALE),
      hdlr(isAudio),
      box("minf", header, dinf(), stbl(sampleEntry)),
    ),
  );
}

function trex(trackId: number): Uint8Array {
  return fullBox("trex", 0, 0, u32(trackId), u32(1), u32(0), u32(0), u32(0));
}

/**
 * `ftyp` + `moov`: what a SourceBuffer needs before any fragment. Throws `Fmp4Error` without parameter sets.
 * `forFile`: also a `mehd` (the whole file's duration, 0 while it is written), so a recording can be given
 * its duration when it is finished (`withDuration`) and players and ffprobe know it without a scan.
 */
export function initSegment(
  video: Fmp4VideoTrack,
  audio?: Fmp4AudioTrack,
  options: { forFile?: boolean } = {},
): Uint8Array {
  const traks = [
    trak(VIDEO_TRACK_ID, undefined, video),
    ...(audio ? [trak(AUDIO_TRACK_ID, audio, undefined)] : []),
  ];
  const trexes = [trex(VIDEO_TRACK_ID), ...(audio ? [trex(AUDIO_TRACK_ID)] : [])];
  const mehd = options.forFile ? [fullBox("mehd", 1, 0, u32(0), u32(0))] : [];
  return concat([ftyp(), box("moov", mvhd(audio ? 3 : 2), ...traks, box("mvex", ...mehd, ...trexes))]);
}

/** A picture's duration when the next one is missing or far (a reconnect gap): 40 ms at 90 kHz. */
export const DEFAULT_VIDEO_DURATION = 3600;
/** Go2rtc's clamp: Safari refuses a zero duration, and a gap (a reconnect) is not one picture's duration. */
const MAX_VIDEO_DURATION = 90_000;

/** A video sample's duration from the step to the next picture (90 kHz), clamped as players need. */
export function videoSampleDuration(delta: number): number {
  return delta > 0 && delta <= MAX_VIDEO_DURATION ? delta : DEFAULT_VIDEO_DURATION;
}

/** The init segment of a recording file for these tracks, or undefined until they carry parameter sets. */
export function fileInitSegment(tracks: {
  codec: VideoCodec;
  parameterSets: Uint8Array[];
  video: VideoParameters | undefined;
}): Uint8Array | undefined {
  if (!tracks.video) return undefined;
  try {
    return initSegment(
      { codec: tracks.codec, parameterSets: tracks.parameterSets, parameters: tracks.video },
      undefined,
      { forFile: true },
    );
  } catch (error) {
    if (error instanceof Fmp4Error) return undefined;
    throw error;
  }
}

/** Whether two init segments are the same bytes (new parameter sets make a new one). */
export function sameInit(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The movie timescale of `mvhd` and `mehd` (milliseconds). */
const MOVIE_TIMESCALE = 1000;

/**
 * A copy of a `forFile` init segment that states the file's duration (in `mvhd` and `mehd`), to write over
 * the init at the start of a finished recording: same size, so nothing after it moves.
 */
export function withDuration(init: Uint8Array, durationMs: number): Uint8Array {
  const out = new Uint8Array(init);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const ms = Math.max(0, Math.round((durationMs * MOVIE_TIMESCALE) / 1000));
  const mvhdAt = findBox(out, "mvhd");
  const mehdAt = findBox(out, "mehd");
  if (mvhdAt < 0 || mehdAt < 0) throw new Fmp4Error("not a file init segment (no mvhd or mehd)");
  // mvhd version 0: size, type, version+flags, creation, modification, timescale, duration.
  view.setUint32(mvhdAt + 24, Math.min(ms, 0xffffffff));
  // mehd version 1: size, type, version+flags, a 64-bit fragment_duration.
  view.setUint32(mehdAt + 12, Math.floor(ms / 2 ** 32));
  view.setUint32(mehdAt + 16, ms % 2 ** 32);
  return out;
}

/** Offset of the first box of this type, searched through the containers camgate writes. */
function findBox(data: Uint8Array, type: string, from = 0, to = data.length): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const containers = new Set(["moov", "trak", "mdia", "minf", "stbl", "mvex"]);
  let at = from;
  while (at + 8 <= to) {
    const size = view.getUint32(at);
    const name = String.fromCharCode(
      data[at + 4] ?? 0,
      data[at + 5] ?? 0,
      data[at + 6] ?? 0,
      data[at + 7] ?? 0,
    );
    if (size < 8 || at + size > to) return -1;
    if (name === type) return at;
    if (containers.has(name)) {
      const inner = findBox(data, type, at + 8, at + size);
      if (inner >= 0) return inner;
    }
    at += size;
  }
  return -1;
}

// --- fragments ---------------------------------------------------------------------------------------------

export interface Fmp4Sample {
  trackId: number;
  /** In the track's timescale (90 kHz for video, the sample rate for audio). */
  decodeTime: number;
  duration: number;
  keyframe: boolean;
  /** NAL units (video: written with 4-byte lengths) or one raw audio frame. */
  data: readonly Uint8Array[];
  /** Video NAL units are length-prefixed; audio frames are written as they are. */
  lengthPrefixed: boolean;
}

const SYNC_FLAGS = 0x02000000; // sample_depends_on = 2: depends on nothing
const NON_SYNC_FLAGS = 0x01010000; // sample_depends_on = 1, sample_is_non_sync_sample

/** The NAL units an MP4 sample keeps: access unit delimiters are a byte-stream device, not sample data. */
export function sampleNalus(codec: VideoCodec, nalus: readonly Uint8Array[]): Uint8Array[] {
  const aud = codec === "h264" ? H264_NAL.aud : H265_NAL.aud;
  const typeOf = codec === "h264" ? h264NalType : h265NalType;
  return nalus.filter((nal) => typeOf(nal) !== aud);
}

/**
 * One `moof` + `mdat` holding one sample, written into one buffer. `sequence` is the `mfhd` number (MSE
 * ignores it; players that check it want it rising).
 */
export function fragment(sample: Fmp4Sample, sequence: number): Uint8Array {
  const payloadBytes = sample.data.reduce(
    (sum, part) => sum + part.length + (sample.lengthPrefixed ? 4 : 0),
    0,
  );
  const mfhdSize = 16;
  const tfhdSize = 16;
  const tfdtSize = 20;
  const trunSize = 12 + 4 + 4 + 12;
  const trafSize = 8 + tfhdSize + tfdtSize + trunSize;
  const moofSize = 8 + mfhdSize + trafSize;
  const out = new Uint8Array(moofSize + 8 + payloadBytes);
  const view = new DataView(out.buffer);
  let at = 0;
  const header = (size: number, type: string) => {
    view.setUint32(at, size);
    for (let i = 0; i < 4; i++) out[at + 4 + i] = type.charCodeAt(i);
    at += 8;
  };
  const word = (value: number) => {
    view.setUint32(at, value >>> 0);
    at += 4;
  };
  header(moofSize, "moof");
  header(mfhdSize, "mfhd");
  word(0);
  word(sequence);
  header(trafSize, "traf");
  header(tfhdSize, "tfhd");
  word(0x020000); // default-base-is-moof
  word(sample.trackId);
  header(tfdtSize, "tfdt");
  word(0x01000000); // version 1: a 64-bit decode time
  const decodeTime = Math.max(0, Math.floor(sample.decodeTime));
  word(Math.floor(decodeTime / 2 ** 32));
  word(decodeTime % 2 ** 32);
  header(trunSize, "trun");
  word(0x000701); // data offset, sample duration, size and flags present
  word(1);
  word(moofSize + 8);
  word(Math.max(1, Math.round(sample.duration)));
  word(payloadBytes);
  word(sample.keyframe ? SYNC_FLAGS : NON_SYNC_FLAGS);
  header(8 + payloadBytes, "mdat");
  for (const part of sample.data) {
    if (sample.lengthPrefixed) word(part.length);
    out.set(part, at);
    at += part.length;
  }
  return out;
}
