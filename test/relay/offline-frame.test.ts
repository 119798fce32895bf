/**
 * The offline picture says what it means: every character of a camera name is drawn as itself (before, the
 * font lacked punctuation and "(unplugged)" came out as "?UNPLUGGED?"), accents are dropped rather than
 * turned into "?", and the picture is a JPEG of the asked size.
 */
import fc from "fast-check";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { drawText, fontText, missingGlyphs } from "../../src/graphics/bitmap-font.ts";
import { renderOfflineFrame } from "../../src/relay/offline-frame.ts";

function pixelsOf(text: string): Buffer {
  const image = { data: Buffer.alloc(8 * 8 * 3), width: 8, height: 8 };
  drawText(image, text, 0, 0, 1, [255, 255, 255]);
  return image.data;
}

describe("the bitmap font", () => {
  it("has a glyph for every printable ASCII character, each drawn as itself and not as ?", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }),
        (text) => {
          expect(missingGlyphs(text)).toEqual([]);
        },
      ),
    );
    const unknown = pixelsOf("?");
    for (let code = 0x20; code <= 0x7e; code++) {
      const ch = String.fromCharCode(code);
      if (ch !== "?") expect(pixelsOf(ch).equals(unknown), `"${ch}" drawn as ?`).toBe(false);
    }
  });

  it("drops accents and straightens typographic dashes and quotes", () => {
    expect(fontText("Küche – Tür „Straße“")).toBe('KUCHE - TUR "STRASSE"');
    expect(missingGlyphs("Garage (unplugged), Küche, Entrée, Ölberg 3/4 & co.")).toEqual([]);
  });

  it("renders the offline picture at the asked size", async () => {
    const jpeg = await renderOfflineFrame(320, 240, "Garage (unplugged)");
    expect(await sharp(jpeg).metadata()).toMatchObject({ format: "jpeg", width: 320, height: 240 });
  });
});
