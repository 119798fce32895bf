/**
 * Renders the emulated camera's picture: a background that pans with the PTZ position, a moving marker, the
 * camera name, a running clock and a frame counter, drawn into one raw RGB buffer and encoded once by sharp.
 *
 * Every JPEG carries a COM segment `camgate seq=<n> t=<capture ms>` right after SOI, so benchmarks can
 * measure end-to-end latency from the frames a client receives.
 */
import sharp from "sharp";
import { drawText, fillRect, type RawImage, textWidth } from "../graphics/bitmap-font.ts";
import { applyLight, paintObjects, type SceneLayer } from "./scene-layers.ts";

export interface FrameScene {
  cameraName: string;
  /** The camera's wall clock for the overlay. */
  clockText: string;
  /** Pan in degrees (0..360) and tilt in degrees; they shift the background as a real view would. */
  pan: number;
  tilt: number;
  zoom: number;
  black: boolean;
  /**
   * A scene for judging motion detection (scene-layers.ts) in place of the default moving marker, and how
   * long it has been going on. With a scene the frame counter is not drawn either: a real camera's OSD has
   * the clock and the name, nothing that changes every picture.
   */
  layers?: readonly SceneLayer[];
  sceneElapsedMs?: number;
}

export interface RenderedFrame {
  jpeg: Buffer;
  sequence: number;
  captureTime: number;
  width: number;
  height: number;
}

/** The background is twice as wide as the frame and wraps, so panning shifts it without re-drawing. */
function makeBackground(width: number, height: number): Buffer {
  const wide = width * 2;
  const data = Buffer.alloc(wide * height * 3);
  // Sensor-like grain (a fixed pseudo-random texture) makes JPEGs as large as a real scene's, about 40 KB
  // at 640x480; smooth gradients alone would compress to half that and flatter every benchmark.
  let seed = 0x2545f491;
  const grain = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) % 17) - 8;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < wide; x++) {
      const i = (y * wide + x) * 3;
      const phase = (x / wide) * Math.PI * 2;
      const g = grain();
      data[i] = 60 + Math.round(50 * (1 + Math.sin(phase))) + g;
      data[i + 1] = 50 + Math.round((120 * y) / height) + g;
      data[i + 2] = 80 + Math.round(50 * (1 + Math.cos(phase * 2))) + g;
    }
    // Vertical stripes every 1/16 of the wide image make pan movement visible.
    for (let s = 0; s < 32; s++) {
      const x = Math.floor((s * wide) / 32);
      const i = (y * wide + x) * 3;
      data[i] = 230;
      data[i + 1] = 230;
      data[i + 2] = 230;
    }
  }
  return data;
}

export class FrameRenderer {
  private readonly background: Buffer;
  private readonly frame: RawImage;
  private sequence = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly quality = 70,
  ) {
    this.background = makeBackground(width, height);
    this.frame = { data: Buffer.alloc(width * height * 3), width, height };
  }

  /** Renders and encodes the next frame. One renderer serves one stream, so calls must not overlap. */
  async render(scene: FrameScene, now = Date.now()): Promise<RenderedFrame> {
    const sequence = ++this.sequence;
    this.compose(scene, sequence, now);
    const encoded = await sharp(this.frame.data, {
      raw: { width: this.width, height: this.height, channels: 3 },
    })
      .jpeg({ quality: this.quality, chromaSubsampling: "4:2:0" })
      .toBuffer();
    return {
      jpeg: withComment(encoded, `camgate seq=${sequence} t=${now}`),
      sequence,
      captureTime: now,
      width: this.width,
      height: this.height,
    };
  }

  private compose(scene: FrameScene, sequence: number, now: number): void {
    const { width, height } = this;
    const image = this.frame;
    if (scene.black) {
      // Tamper (VideoBlind): the lens is covered; a real sensor still shows a faint noise floor.
      image.data.fill(8);
      return;
    }
    const wide = width * 2;
    const offset = Math.floor(((((scene.pan % 360) + 360) % 360) / 360) * wide);
    const tiltShift = Math.round((scene.tilt / 90) * (height / 4));
    for (let y = 0; y < height; y++) {
      const srcY = Math.min(height - 1, Math.max(0, y + tiltShift));
      const rowStart = srcY * wide * 3;
      const firstPart = Math.min(width, wide - offset);
      this.background.copy(
        image.data,
        y * width * 3,
        rowStart + offset * 3,
        rowStart + (offset + firstPart) * 3,
      );
      if (firstPart < width) {
        this.background.copy(
          image.data,
          (y * width + firstPart) * 3,
          rowStart,
          rowStart + (width - firstPart) * 3,
        );
      }
    }
    const scale = Math.max(2, Math.round(height / 160));
    if (scene.layers) {
      const elapsed = scene.sceneElapsedMs ?? 0;
      paintObjects(image, scene.layers, elapsed);
      applyLight(image, scene.layers, elapsed, sequence);
      this.drawOsd(scene, scale);
      return;
    }
    // A marker that crosses the picture every 4 seconds: the picture changes even when nothing else does.
    const marker = Math.max(16, Math.round(height / 10)) * Math.max(1, scene.zoom);
    const progress = (now % 4000) / 4000;
    const markerX = Math.round(progress * (width + marker)) - marker;
    fillRect(image, markerX, Math.round(height * 0.55), marker, marker, [250, 200, 40]);
    const bar = this.drawOsd(scene, scale);
    drawText(image, `#${sequence}`, 2 * scale, height - bar + 2 * scale, scale, [120, 255, 120]);
  }

  /** The black bars with the camera's name and clock; returns the bars' height. */
  private drawOsd(scene: FrameScene, scale: number): number {
    const { width, height } = this;
    const image = this.frame;
    const bar = (7 + 4) * scale;
    fillRect(image, 0, 0, width, bar, [0, 0, 0]);
    fillRect(image, 0, height - bar, width, bar, [0, 0, 0]);
    drawText(image, scene.cameraName, 2 * scale, 2 * scale, scale, [255, 255, 255]);
    const clock = scene.clockText;
    drawText(image, clock, width - textWidth(clock, scale) - 2 * scale, 2 * scale, scale, [255, 255, 255]);
    return bar;
  }
}

/** Inserts a JPEG COM (0xFFFE) segment right after the SOI marker. */
export function withComment(jpeg: Buffer, comment: string): Buffer {
  const text = Buffer.from(comment, "latin1");
  const segment = Buffer.alloc(4 + text.length);
  segment[0] = 0xff;
  segment[1] = 0xfe;
  segment.writeUInt16BE(text.length + 2, 2);
  text.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

/** Reads the first COM segment of a JPEG, or undefined. Scans markers only up to the first SOS. */
export function readComment(jpeg: Buffer): string | undefined {
  let pos = 2;
  while (pos + 4 <= jpeg.length && jpeg[pos] === 0xff) {
    const marker = jpeg[pos + 1] as number;
    const length = jpeg.readUInt16BE(pos + 2);
    if (marker === 0xfe) return jpeg.subarray(pos + 4, pos + 2 + length).toString("latin1");
    if (marker === 0xda) return undefined;
    pos += 2 + length;
  }
  return undefined;
}
