/**
 * A 5x7 bitmap font for the emulator's on-screen overlay (camera name, clock, frame counter). Drawing pixels
 * into the raw frame before one JPEG encode is far cheaper than compositing rendered text per frame.
 */

const GLYPHS: Record<string, readonly string[]> = {
  "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
  "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
  "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
  "3": ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
  "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
  "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
  "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
  "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
  "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
  "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
  A: ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
  B: ["11110", "10001", "10001", "11110", "10001", "10001", "11110"],
  C: ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
  D: ["11100", "10010", "10001", "10001", "10001", "10010", "11100"],
  E: ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
  F: ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
  G: ["01110", "10001", "10000", "10111", "10001", "10001", "01111"],
  H: ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
  I: ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
  J: ["00111", "00010", "00010", "00010", "00010", "10010", "01100"],
  K: ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
  L: ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
  M: ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
  N: ["10001", "10001", "11001", "10101", "10011", "10001", "10001"],
  O: ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
  P: ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
  Q: ["01110", "10001", "10001", "10001", "10101", "10010", "01101"],
  R: ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
  S: ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
  T: ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
  U: ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
  V: ["10001", "10001", "10001", "10001", "10001", "01010", "00100"],
  W: ["10001", "10001", "10001", "10101", "10101", "10101", "01010"],
  X: ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
  Y: ["10001", "10001", "10001", "01010", "00100", "00100", "00100"],
  Z: ["11111", "00001", "00010", "00100", "01000", "10000", "11111"],
  " ": ["00000", "00000", "00000", "00000", "00000", "00000", "00000"],
  ":": ["00000", "01100", "01100", "00000", "01100", "01100", "00000"],
  "-": ["00000", "00000", "00000", "11111", "00000", "00000", "00000"],
  ".": ["00000", "00000", "00000", "00000", "00000", "01100", "01100"],
  "/": ["00001", "00010", "00010", "00100", "01000", "01000", "10000"],
  "#": ["01010", "01010", "11111", "01010", "11111", "01010", "01010"],
  _: ["00000", "00000", "00000", "00000", "00000", "00000", "11111"],
  "?": ["01110", "10001", "00001", "00010", "00100", "00000", "00100"],
};

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;

/** Bit rows per glyph, parsed once. */
const BITS = new Map<string, number[]>(
  Object.entries(GLYPHS).map(([ch, rows]) => [ch, rows.map((row) => Number.parseInt(row, 2))]),
);

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

/** Draws text (upper-cased; unknown characters as `?`) at (x, y), each font pixel a `scale`² block. */
export function drawText(
  image: RawImage,
  text: string,
  x: number,
  y: number,
  scale: number,
  rgb: readonly [number, number, number],
): void {
  let penX = x;
  for (const raw of text.toUpperCase()) {
    const rows = BITS.get(raw) ?? (BITS.get("?") as number[]);
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      const bits = rows[row] as number;
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if ((bits >> (GLYPH_WIDTH - 1 - col)) & 1) {
          fillRect(image, penX + col * scale, y + row * scale, scale, scale, rgb);
        }
      }
    }
    penX += (GLYPH_WIDTH + 1) * scale;
  }
}

export function fillRect(
  image: RawImage,
  x: number,
  y: number,
  w: number,
  h: number,
  rgb: readonly [number, number, number],
): void {
  const x0 = Math.max(0, Math.floor(x));
  const y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(image.width, Math.floor(x + w));
  const y1 = Math.min(image.height, Math.floor(y + h));
  if (x1 <= x0 || y1 <= y0) return;
  const [r, g, b] = rgb;
  const rowBytes = (x1 - x0) * 3;
  for (let py = y0; py < y1; py++) {
    const start = (py * image.width + x0) * 3;
    // Write the first pixel, then double the filled span: far fewer JS iterations than pixel by pixel.
    image.data[start] = r;
    image.data[start + 1] = g;
    image.data[start + 2] = b;
    let filled = 3;
    while (filled < rowBytes) {
      const n = Math.min(filled, rowBytes - filled);
      image.data.copy(image.data, start + filled, start, start + n);
      filled += n;
    }
  }
}

export function textWidth(text: string, scale: number): number {
  return text.length * (GLYPH_WIDTH + 1) * scale;
}
