/**
 * The small "camera offline" picture viewers get every 2 s while the upstream is down, so they see why the
 * picture stopped. Drawn with the shared bitmap font (`graphics/`), which has every printable ASCII character
 * and drops accents, so a name such as "Garage (unplugged)" or "Küche" shows as written; encoded once per
 * size.
 */
import { drawText, fillRect, textWidth } from "../graphics/bitmap-font.ts";
import { loadSharp } from "../util/lazy-sharp.ts";

export async function renderOfflineFrame(width: number, height: number, cameraName: string): Promise<Buffer> {
  const image = { data: Buffer.alloc(width * height * 3, 40), width, height };
  const scale = Math.max(2, Math.round(height / 120));
  const title = "CAMERA OFFLINE";
  const titleWidth = textWidth(title, scale);
  const y = Math.round(height / 2 - 7 * scale);
  fillRect(image, 0, y - 3 * scale, width, 13 * scale, [150, 20, 20]);
  drawText(image, title, Math.round((width - titleWidth) / 2), y, scale, [255, 255, 255]);
  const small = Math.max(1, Math.round(scale / 2));
  const name = [...cameraName].slice(0, 40).join("");
  drawText(
    image,
    name,
    Math.round((width - textWidth(name, small)) / 2),
    y + 14 * scale,
    small,
    [200, 200, 200],
  );
  const sharp = await loadSharp();
  return sharp(image.data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 60 })
    .toBuffer();
}
