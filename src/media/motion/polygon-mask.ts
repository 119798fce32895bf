/**
 * Zones and masks as the owner draws them (polygons in 0..1 picture coordinates, x to the right, y down),
 * turned into one byte per analysed pixel. A pixel belongs to a polygon when its centre is inside it (the
 * even-odd rule, as SVG's `fill-rule: evenodd` and Frigate's masks read a polygon), so a polygon drawn
 * around the whole picture covers every pixel and a degenerate one (fewer than three corners, no area)
 * covers none. Pure.
 */

export type Point = readonly [x: number, y: number];
export type Polygon = readonly Point[];

/** At most this many corners per polygon: a drawn zone has a handful; a larger one is refused by the config. */
export const MAX_POLYGON_POINTS = 64;

/**
 * A `width`×`height` bitmap: 1 where a pixel's centre lies inside any of `polygons`, else 0. Each row is
 * filled between the crossings of its centre line with the polygons' edges (scanline even-odd), so the
 * cost is one pass over the picture plus the edges per row.
 */
export function rasterise(polygons: readonly Polygon[], width: number, height: number): Uint8Array {
  const bitmap = new Uint8Array(width * height);
  for (const polygon of polygons) fillPolygon(bitmap, polygon, width, height);
  return bitmap;
}

function fillPolygon(bitmap: Uint8Array, polygon: Polygon, width: number, height: number): void {
  const corners = polygon.slice(0, MAX_POLYGON_POINTS).map(([x, y]) => [x * width, y * height] as const);
  if (corners.length < 3) return;
  const crossings: number[] = [];
  for (let row = 0; row < height; row++) {
    const centreY = row + 0.5;
    crossings.length = 0;
    for (let i = 0; i < corners.length; i++) {
      const [ax, ay] = corners[i] as readonly [number, number];
      const [bx, by] = corners[(i + 1) % corners.length] as readonly [number, number];
      // Half-open in y, so a corner exactly on the centre line is counted once.
      if (ay <= centreY === by <= centreY) continue;
      crossings.push(ax + ((centreY - ay) / (by - ay)) * (bx - ax));
    }
    crossings.sort((a, b) => a - b);
    for (let c = 0; c + 1 < crossings.length; c += 2) {
      // Pixels whose centre (column + 0.5) lies between the two crossings.
      const from = Math.max(0, Math.ceil((crossings[c] as number) - 0.5));
      const to = Math.min(width - 1, Math.ceil((crossings[c + 1] as number) - 0.5) - 1);
      // The polygons of one list are a union: a pixel two of them cover is covered once.
      for (let column = from; column <= to; column++) bitmap[row * width + column] = 1;
    }
  }
}

/** Whether the point (0..1 coordinates) is inside the polygon (even-odd), for tests and the UI's hit test. */
export function contains(polygon: Polygon, x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i] as Point;
    const [xj, yj] = polygon[j] as Point;
    if (yi <= y !== yj <= y && x < xi + ((y - yi) / (yj - yi)) * (xj - xi)) inside = !inside;
  }
  return inside;
}
