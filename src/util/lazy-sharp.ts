/**
 * sharp (libvips) loaded on first use: it is ~30 MB of memory once loaded, and a camgate that never resizes
 * a snapshot nor draws an offline picture should not pay for it (issue 30). Only the first call waits.
 */
import type { default as Sharp } from "sharp";

let loaded: Promise<typeof Sharp> | undefined;

export function loadSharp(): Promise<typeof Sharp> {
  loaded ??= import("sharp").then((module) => {
    // libvips' operation cache (50 MB by default) never hits here: every picture camgate decodes or resizes
    // is a new buffer. Off, it holds nothing (one soak with motion on each way: 273 MB at the end with it,
    // 241 MB without).
    module.default.cache(false);
    return module.default;
  });
  return loaded;
}
