/**
 * sharp (libvips) loaded on first use: it is ~30 MB of memory once loaded, and a camgate that never resizes
 * a snapshot nor draws an offline picture should not pay for it (issue 30). Only the first call waits.
 */
import type { default as Sharp } from "sharp";

let loaded: Promise<typeof Sharp> | undefined;

export function loadSharp(): Promise<typeof Sharp> {
  loaded ??= import("sharp").then((module) => module.default);
  return loaded;
}
