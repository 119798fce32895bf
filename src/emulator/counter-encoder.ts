/**
 * A tiny H.264 encoder for the emulator (Constrained Baseline, CAVLC): an IDR made of I_PCM macroblocks,
 * then P pictures where unchanged macroblocks are P_Skip and changed ones I_PCM again. I_PCM carries the
 * samples as they are, so every decoder shows exactly the pixels drawn here: a test page reads the frame
 * counter and capture clock back from `<video>` through a canvas and computes the latency from camera to
 * screen to the millisecond, without OCR or x264. Prior art: Cardinal Peak's "world's smallest H.264
 * encoder" (hello264), ogv.js's uncompressed H.264 for MSE (rtsp-h264.md §5.2).
 *
 * The picture: colour bars (drawn once), a binary strip in the top macroblock row (8x8 cells: a sync byte,
 * the 24-bit frame counter, the low 32 bits of the capture time in ms; the row below it the complement, so
 * a reader can tell a clean read), the same as text, and a block that moves so people see motion.
 * Everything here is the emulator's own (no gateway code), as its fixtures are.
 */
import { drawText, type RawImage } from "../graphics/bitmap-font.ts";

export const STRIP_SYNC = 0b10110010;
/** Width and height of one strip cell in pixels: 64 cells fit the picture's width. */
export function stripCell(width: number): number {
  return width >= 512 ? 8 : 4;
}
const BLACK = 16;
const WHITE = 235;

class BitWriter {
  private bytes: number[] = [];
  private current = 0;
  private used = 0;

  bit(value: number): void {
    this.current = (this.current << 1) | (value & 1);
    if (++this.used === 8) {
      this.bytes.push(this.current);
      this.current = 0;
      this.used = 0;
    }
  }

  bits(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) this.bit(Math.floor(value / 2 ** i) & 1);
  }

  ue(value: number): void {
    const code = value + 1;
    const length = Math.floor(Math.log2(code));
    for (let i = 0; i < length; i++) this.bit(0);
    this.bits(code, length + 1);
  }

  se(value: number): void {
    this.ue(value <= 0 ? -2 * value : 2 * value - 1);
  }

  /** Zero bits to the next byte boundary (pcm_alignment_zero_bit). */
  align(): void {
    while (this.used !== 0) this.bit(0);
  }

  /** Whole bytes, once aligned. */
  raw(data: Uint8Array, from: number, length: number): void {
    for (let i = 0; i < length; i++) this.bytes.push(data[from + i] as number);
  }

  /** rbsp_trailing_bits, then the bytes. */
  finish(): Uint8Array {
    this.bit(1);
    this.align();
    return Uint8Array.from(this.bytes);
  }
}

/** A NAL unit: the header byte, then the RBSP with emulation prevention (00 00 0x → 00 00 03 0x). */
function nal(header: number, rbsp: Uint8Array): Buffer {
  const out: number[] = [header];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

export interface CounterEncoderOptions {
  width: number;
  height: number;
  fps: number;
  /** Pictures from one IDR to the next. */
  gop: number;
}

/** Colour bars in Y'CbCr (BT.601 studio range): white, yellow, cyan, green, magenta, red, blue, black. */
const BARS: [number, number, number][] = [
  [180, 128, 128],
  [162, 44, 142],
  [131, 156, 44],
  [112, 72, 58],
  [84, 184, 198],
  [65, 100, 212],
  [35, 212, 114],
  [16, 128, 128],
];

export class CounterEncoder {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  private readonly mbWidth: number;
  private readonly mbHeight: number;
  private readonly y: Uint8Array;
  private readonly u: Uint8Array;
  private readonly v: Uint8Array;
  private readonly background: { y: Uint8Array; u: Uint8Array; v: Uint8Array };
  /** The decoder's picture after the last encoded one (lossless: what was drawn). */
  private reference: { y: Uint8Array; u: Uint8Array; v: Uint8Array } | undefined;
  private frameNum = 0;
  private idrId = 0;
  private count = 0;
  readonly sps: Buffer;
  readonly pps: Buffer;

  constructor(private readonly options: CounterEncoderOptions) {
    this.width = options.width;
    this.height = options.height;
    this.fps = options.fps;
    this.mbWidth = Math.ceil(options.width / 16);
    this.mbHeight = Math.ceil(options.height / 16);
    const lumaSize = this.mbWidth * 16 * this.mbHeight * 16;
    this.y = new Uint8Array(lumaSize);
    this.u = new Uint8Array(lumaSize / 4);
    this.v = new Uint8Array(lumaSize / 4);
    this.background = this.bars();
    this.sps = this.writeSps();
    this.pps = this.writePps();
  }

  /** The next picture: its NAL units (AUD, and SPS+PPS before an IDR) and whether it is a keyframe. */
  encode(counter: number, capturedAt: number): { nalus: Buffer[]; keyframe: boolean } {
    this.draw(counter, capturedAt);
    const keyframe = this.count % this.options.gop === 0 || !this.reference;
    this.count++;
    const aud = Buffer.from([0x09, 0xf0]);
    if (keyframe) {
      this.frameNum = 0;
      const slice = this.slice(true);
      this.idrId = (this.idrId + 1) % 2;
      this.keep();
      return { nalus: [aud, this.sps, this.pps, slice], keyframe: true };
    }
    this.frameNum = (this.frameNum + 1) % 65536;
    const slice = this.slice(false);
    this.keep();
    return { nalus: [aud, slice], keyframe: false };
  }

  /** The last picture's luma, cropped to the picture size (what a lossless decoder must show). */
  luma(): Uint8Array {
    const stride = this.mbWidth * 16;
    const out = new Uint8Array(this.width * this.height);
    for (let row = 0; row < this.height; row++)
      out.set(this.y.subarray(row * stride, row * stride + this.width), row * this.width);
    return out;
  }

  private keep(): void {
    this.reference = { y: this.y.slice(), u: this.u.slice(), v: this.v.slice() };
  }

  private writeSps(): Buffer {
    const w = new BitWriter();
    w.bits(66, 8); // profile_idc: Baseline
    w.bits(0xc0, 8); // constraint_set0 and set1: Constrained Baseline
    w.bits(31, 8); // level 3.1
    w.ue(0); // seq_parameter_set_id
    w.ue(12); // log2_max_frame_num_minus4: 16-bit frame_num
    w.ue(2); // pic_order_cnt_type 2: output order is decoding order
    w.ue(1); // max_num_ref_frames
    w.bit(0); // gaps_in_frame_num_value_allowed_flag
    w.ue(this.mbWidth - 1);
    w.ue(this.mbHeight - 1);
    w.bit(1); // frame_mbs_only_flag
    w.bit(1); // direct_8x8_inference_flag
    const cropRight = (this.mbWidth * 16 - this.width) / 2;
    const cropBottom = (this.mbHeight * 16 - this.height) / 2;
    const crop = cropRight > 0 || cropBottom > 0;
    w.bit(crop ? 1 : 0);
    if (crop) {
      w.ue(0);
      w.ue(cropRight);
      w.ue(0);
      w.ue(cropBottom);
    }
    w.bit(1); // vui_parameters_present_flag
    w.bit(0); // aspect_ratio_info_present_flag
    w.bit(0); // overscan_info_present_flag
    w.bit(0); // video_signal_type_present_flag
    w.bit(0); // chroma_loc_info_present_flag
    w.bit(1); // timing_info_present_flag
    w.bits(1, 32); // num_units_in_tick
    w.bits(this.fps * 2, 32); // time_scale
    w.bit(1); // fixed_frame_rate_flag
    w.bit(0); // nal_hrd_parameters_present_flag
    w.bit(0); // vcl_hrd_parameters_present_flag
    w.bit(0); // pic_struct_present_flag
    w.bit(1); // bitstream_restriction_flag: no reordering, so decoders hold back no picture
    w.bit(1); // motion_vectors_over_pic_boundaries_flag
    w.ue(0); // max_bytes_per_pic_denom
    w.ue(0); // max_bits_per_mb_denom
    w.ue(16); // log2_max_mv_length_horizontal
    w.ue(16); // log2_max_mv_length_vertical
    w.ue(0); // max_num_reorder_frames
    w.ue(1); // max_dec_frame_buffering
    return nal(0x67, w.finish());
  }

  private writePps(): Buffer {
    const w = new BitWriter();
    w.ue(0); // pic_parameter_set_id
    w.ue(0); // seq_parameter_set_id
    w.bit(0); // entropy_coding_mode_flag: CAVLC
    w.bit(0); // bottom_field_pic_order_in_frame_present_flag
    w.ue(0); // num_slice_groups_minus1
    w.ue(0); // num_ref_idx_l0_default_active_minus1
    w.ue(0); // num_ref_idx_l1_default_active_minus1
    w.bit(0); // weighted_pred_flag
    w.bits(0, 2); // weighted_bipred_idc
    w.se(0); // pic_init_qp_minus26
    w.se(0); // pic_init_qs_minus26
    w.se(0); // chroma_qp_index_offset
    w.bit(1); // deblocking_filter_control_present_flag
    w.bit(0); // constrained_intra_pred_flag
    w.bit(0); // redundant_pic_cnt_present_flag
    return nal(0x68, w.finish());
  }

  private slice(idr: boolean): Buffer {
    const w = new BitWriter();
    w.ue(0); // first_mb_in_slice
    w.ue(idr ? 7 : 5); // slice_type: I or P, all slices of the picture
    w.ue(0); // pic_parameter_set_id
    w.bits(this.frameNum, 16);
    if (idr) w.ue(this.idrId);
    if (!idr) {
      w.bit(0); // num_ref_idx_active_override_flag
      w.bit(0); // ref_pic_list_modification_flag_l0
    }
    if (idr) {
      w.bit(0); // no_output_of_prior_pics_flag
      w.bit(0); // long_term_reference_flag
    } else {
      w.bit(0); // adaptive_ref_pic_marking_mode_flag
    }
    w.se(0); // slice_qp_delta
    w.ue(1); // disable_deblocking_filter_idc: off, the pixels stay exact
    const total = this.mbWidth * this.mbHeight;
    let skipped = 0;
    for (let mb = 0; mb < total; mb++) {
      if (!idr && !this.changed(mb)) {
        skipped++;
        continue;
      }
      if (!idr) {
        w.ue(skipped); // mb_skip_run
        skipped = 0;
        w.ue(30); // mb_type I_PCM in a P slice (5 + 25)
      } else {
        w.ue(25); // mb_type I_PCM
      }
      w.align();
      this.writePcm(w, mb);
    }
    if (!idr && skipped > 0) w.ue(skipped);
    return nal(idr ? 0x65 : 0x41, w.finish());
  }

  private writePcm(w: BitWriter, mb: number): void {
    const stride = this.mbWidth * 16;
    const mx = (mb % this.mbWidth) * 16;
    const my = Math.floor(mb / this.mbWidth) * 16;
    for (let row = 0; row < 16; row++) w.raw(this.y, (my + row) * stride + mx, 16);
    const chromaStride = stride / 2;
    for (const plane of [this.u, this.v])
      for (let row = 0; row < 8; row++) w.raw(plane, (my / 2 + row) * chromaStride + mx / 2, 8);
  }

  private changed(mb: number): boolean {
    const reference = this.reference;
    if (!reference) return true;
    const stride = this.mbWidth * 16;
    const mx = (mb % this.mbWidth) * 16;
    const my = Math.floor(mb / this.mbWidth) * 16;
    for (let row = 0; row < 16; row++) {
      const at = (my + row) * stride + mx;
      for (let i = 0; i < 16; i++) if (this.y[at + i] !== reference.y[at + i]) return true;
    }
    const chromaStride = stride / 2;
    for (const [plane, previous] of [
      [this.u, reference.u],
      [this.v, reference.v],
    ] as const) {
      for (let row = 0; row < 8; row++) {
        const at = (my / 2 + row) * chromaStride + mx / 2;
        for (let i = 0; i < 8; i++) if (plane[at + i] !== previous[at + i]) return true;
      }
    }
    return false;
  }

  private bars(): { y: Uint8Array; u: Uint8Array; v: Uint8Array } {
    const stride = this.mbWidth * 16;
    const rows = this.mbHeight * 16;
    const y = new Uint8Array(stride * rows);
    const u = new Uint8Array((stride * rows) / 4);
    const v = new Uint8Array((stride * rows) / 4);
    for (let x = 0; x < stride; x++) {
      const bar = BARS[Math.min(BARS.length - 1, Math.floor((x * BARS.length) / this.width))] as [
        number,
        number,
        number,
      ];
      for (let row = 0; row < rows; row++) y[row * stride + x] = bar[0];
      if (x % 2 === 0)
        for (let row = 0; row < rows / 2; row++) {
          u[row * (stride / 2) + x / 2] = bar[1];
          v[row * (stride / 2) + x / 2] = bar[2];
        }
    }
    return { y, u, v };
  }

  /** Luma rectangle, chroma neutral (grey levels read back exactly as R = G = B). */
  private fill(x: number, y: number, w: number, h: number, luma: number): void {
    const stride = this.mbWidth * 16;
    for (let row = y; row < y + h; row++) this.y.fill(luma, row * stride + x, row * stride + x + w);
    for (let row = y / 2; row < (y + h) / 2; row++) {
      this.u.fill(128, row * (stride / 2) + x / 2, row * (stride / 2) + (x + w) / 2);
      this.v.fill(128, row * (stride / 2) + x / 2, row * (stride / 2) + (x + w) / 2);
    }
  }

  private draw(counter: number, capturedAt: number): void {
    this.y.set(this.background.y);
    this.u.set(this.background.u);
    this.v.set(this.background.v);
    const stride = this.mbWidth * 16;
    // The strip: 64 bits on the first cell row, their complement on the second.
    const bits: number[] = [];
    const push = (value: number, count: number) => {
      for (let i = count - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) & 1);
    };
    push(STRIP_SYNC, 8);
    push(counter % 2 ** 24, 24);
    push(capturedAt % 2 ** 32, 32);
    this.fill(0, 0, stride, 16, 128);
    const cell = stripCell(this.width);
    bits.forEach((bit, i) => {
      this.fill(i * cell, 0, cell, cell, bit ? WHITE : BLACK);
      this.fill(i * cell, cell, cell, cell, bit ? BLACK : WHITE);
    });
    // The same as text, for people: white on black in the second macroblock row.
    const time = new Date(capturedAt).toISOString().slice(11, 23);
    const text = `FRAME ${String(counter).padStart(7, "0")}  ${time}`;
    const scale = this.width >= 480 ? 2 : 1;
    this.fill(0, 16, Math.min(stride, 16 * Math.ceil(((text.length * 6 + 2) * scale) / 16)), 16, BLACK);
    this.text(text, 2, 17, scale);
    // A block moving along the bottom third, one macroblock per picture.
    const lane = Math.floor((this.mbHeight * 2) / 3) * 16;
    const x = ((counter * 16) % (this.mbWidth * 16 - 16)) & ~15;
    this.fill(x, lane, 16, 16, WHITE);
  }

  /** Text into the luma plane with the shared 5x7 font (drawn on an RGB scratch image, then its R as luma). */
  private text(text: string, x: number, y: number, scale: number): void {
    const width = (text.length * 6 + 1) * scale;
    const height = 7 * scale;
    const scratch: RawImage = { data: Buffer.alloc(width * height * 3), width, height };
    drawText(scratch, text, 0, 0, scale, [255, 255, 255]);
    const stride = this.mbWidth * 16;
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        if (x + col >= stride) break;
        if ((scratch.data[(row * width + col) * 3] as number) > 0)
          this.y[(y + row) * stride + x + col] = WHITE;
      }
    }
  }
}

/** Reads a strip back from grey levels (a test or the emulator's own check): the counter and the clock. */
export function readStrip(
  width: number,
  luma: (x: number, y: number) => number,
): { counter: number; capturedAtLow32: number } | undefined {
  const cell = stripCell(width);
  const bits: number[] = [];
  for (let i = 0; i < 64; i++) {
    const top = luma(i * cell + cell / 2, cell / 2) > 128 ? 1 : 0;
    const bottom = luma(i * cell + cell / 2, cell + cell / 2) > 128 ? 1 : 0;
    if (top === bottom) return undefined;
    bits.push(top);
  }
  const value = (from: number, count: number) =>
    bits.slice(from, from + count).reduce((sum, bit) => sum * 2 + bit, 0);
  if (value(0, 8) !== STRIP_SYNC) return undefined;
  return { counter: value(8, 24), capturedAtLow32: value(32, 32) };
}
