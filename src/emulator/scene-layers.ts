/**
 * Scenes for judging motion detection: what a camera sees besides its background, as layers painted on the
 * picture, each a function of the time since the scene began (so a test knows when the walker crosses).
 * The kinds are the cases a detector must tell apart (issue 32): something moving (a walker), sensor noise
 * (grain at night), a brightness step (a cloud, the exposure), the IR cut filter switching to night mode
 * (the picture goes grey and lit from the centre by the camera's own IR lamps), and a tree swaying in the
 * wind. Objects are drawn before the light changes, as a sensor sees them; the OSD is drawn after, as the
 * camera overlays it.
 */
import type { RawImage } from "../graphics/bitmap-font.ts";

export type SceneLayer =
  /**
   * A person-sized figure (half as wide as `size`, `size` tall, in picture heights) walking from `fromX` to
   * `toX` (0..1) at height `y` during the first `walkMs` of every `periodMs`, absent the rest of the time.
   */
  | {
      kind: "walker";
      periodMs: number;
      walkMs: number;
      y: number;
      size: number;
      fromX?: number;
      toX?: number;
    }
  /** Every pixel off by up to ± `amplitude` (0-255), new each picture. */
  | { kind: "noise"; amplitude: number }
  /** The whole picture times `factor` in every other `periodMs` (the first period unchanged). */
  | { kind: "brightness"; periodMs: number; factor: number }
  /** Night mode in every other `periodMs`: grey, brighter in the centre, darker at the edges. */
  | { kind: "ir"; periodMs: number }
  /**
   * A tree's crown (an ellipse of leaves) in the box x, y, width, height (0..1), still but for a gust of
   * wind in the first `gustMs` of every `periodMs`, when it sways once every `swayMs`.
   */
  | {
      kind: "tree";
      x: number;
      y: number;
      width: number;
      height: number;
      swayMs: number;
      periodMs: number;
      gustMs: number;
    };

/** Paints the objects (walkers, trees) of `layers` at `elapsedMs` into `image` (RGB). */
export function paintObjects(image: RawImage, layers: readonly SceneLayer[], elapsedMs: number): void {
  for (const layer of layers) {
    if (layer.kind === "walker") paintWalker(image, layer, elapsedMs);
    else if (layer.kind === "tree") paintTree(image, layer, elapsedMs);
  }
}

/** Applies the light and the sensor (brightness, night mode, noise) of `layers` to `image`. */
export function applyLight(
  image: RawImage,
  layers: readonly SceneLayer[],
  elapsedMs: number,
  seed: number,
): void {
  for (const layer of layers) {
    if (layer.kind === "brightness" && Math.floor(elapsedMs / layer.periodMs) % 2 === 1)
      scale(image, layer.factor);
    else if (layer.kind === "ir" && Math.floor(elapsedMs / layer.periodMs) % 2 === 1) nightMode(image);
    else if (layer.kind === "noise") addNoise(image, layer.amplitude, seed);
  }
}

function setPixel(image: RawImage, x: number, y: number, rgb: readonly [number, number, number]): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  const i = (y * image.width + x) * 3;
  image.data[i] = rgb[0];
  image.data[i + 1] = rgb[1];
  image.data[i + 2] = rgb[2];
}

function paintWalker(
  image: RawImage,
  layer: Extract<SceneLayer, { kind: "walker" }>,
  elapsedMs: number,
): void {
  const phase = elapsedMs % layer.periodMs;
  if (phase >= layer.walkMs) return;
  const { width, height } = image;
  const tall = Math.round(layer.size * height);
  const wide = Math.max(2, Math.round(tall / 2));
  const from = layer.fromX ?? -wide / width;
  const to = layer.toX ?? 1;
  const left = Math.round((from + (to - from) * (phase / layer.walkMs)) * width);
  const top = Math.round(layer.y * height);
  // A dark coat and a lighter head: a figure with some contrast against any background.
  for (let y = 0; y < tall; y++)
    for (let x = 0; x < wide; x++) {
      const head = y < tall / 5;
      setPixel(image, left + x, top + y, head ? [200, 160, 140] : [30, 35, 60]);
    }
}

function paintTree(image: RawImage, layer: Extract<SceneLayer, { kind: "tree" }>, elapsedMs: number): void {
  const { width, height } = image;
  const boxLeft = layer.x * width;
  const boxTop = layer.y * height;
  const boxWidth = layer.width * width;
  const boxHeight = layer.height * height;
  // In a gust the crown sways by a sixth of its width; the leaves' texture moves with it.
  const gust = elapsedMs % layer.periodMs < layer.gustMs;
  const sway = gust ? Math.sin((elapsedMs / layer.swayMs) * Math.PI * 2) * (boxWidth / 6) : 0;
  const centreX = boxLeft + boxWidth / 2;
  const centreY = boxTop + boxHeight / 2;
  const radiusX = boxWidth / 2 - boxWidth / 6;
  const radiusY = boxHeight / 2;
  for (let y = Math.floor(boxTop); y < boxTop + boxHeight; y++)
    for (let x = Math.floor(boxLeft); x < boxLeft + boxWidth; x++) {
      const dx = (x - centreX - sway) / radiusX;
      const dy = (y - centreY) / radiusY;
      if (dx * dx + dy * dy > 1) continue;
      const leaf = ((Math.round(x - sway) * 13 + y * 7) % 11) / 11;
      // Dark foliage against the lighter sky behind it, as a tree is seen by day.
      setPixel(image, x, y, [10 + leaf * 30, 40 + leaf * 60, 10 + leaf * 20]);
    }
}

function scale(image: RawImage, factor: number): void {
  const data = image.data;
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.round((data[i] as number) * factor));
}

function nightMode(image: RawImage): void {
  const { width, height, data } = image;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const luma =
        0.299 * (data[i] as number) + 0.587 * (data[i + 1] as number) + 0.114 * (data[i + 2] as number);
      // The IR lamps light the centre; the edges fall off (a real night picture's hot spot).
      const dx = x / width - 0.5;
      const dy = y / height - 0.5;
      const lit = 1.5 - 2 * (dx * dx + dy * dy);
      const grey = Math.min(255, Math.round(luma * lit));
      data[i] = grey;
      data[i + 1] = grey;
      data[i + 2] = grey;
    }
}

function addNoise(image: RawImage, amplitude: number, seed: number): void {
  const data = image.data;
  let state = (seed * 2654435761) >>> 0 || 1;
  const span = 2 * amplitude + 1;
  for (let i = 0; i < data.length; i += 3) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const offset = ((state >>> 0) % span) - amplitude;
    for (let c = 0; c < 3; c++) data[i + c] = Math.max(0, Math.min(255, (data[i + c] as number) + offset));
  }
}
