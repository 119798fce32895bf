/**
 * One emulated video stream (channel, subtype): renders frames at the configured rate while anyone watches,
 * and hands every subscriber the same buffer. Nothing is rendered while nobody watches.
 */
import type { FrameRenderer, FrameScene, RenderedFrame } from "./frame-renderer.ts";

export type FrameListener = (frame: RenderedFrame) => void;

export interface FrameSourceOptions {
  renderer: () => FrameRenderer;
  fps: () => number;
  scene: () => FrameScene;
}

export class FrameSource {
  private readonly listeners = new Set<FrameListener>();
  private timer: NodeJS.Timeout | undefined;
  private rendering = false;
  private nextDue = 0;
  /** Frames skipped because the previous encode had not finished in time. */
  skipped = 0;
  produced = 0;

  constructor(private readonly options: FrameSourceOptions) {}

  subscribe(listener: FrameListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private start(): void {
    this.nextDue = Date.now();
    this.tick();
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick = (): void => {
    this.timer = undefined;
    if (this.listeners.size === 0) return;
    const interval = 1000 / Math.max(1, Math.min(60, this.options.fps()));
    const now = Date.now();
    if (this.rendering) {
      this.skipped++;
    } else {
      this.rendering = true;
      this.options
        .renderer()
        .render(this.options.scene(), now)
        .then((frame) => {
          this.produced++;
          for (const listener of [...this.listeners]) listener(frame);
        })
        .catch((error: unknown) => {
          process.emitWarning(`emulator frame render failed: ${String(error)}`);
        })
        .finally(() => {
          this.rendering = false;
        });
    }
    // Schedule against the ideal timeline so the rate does not drift with timer jitter.
    this.nextDue = Math.max(this.nextDue + interval, now - interval);
    this.timer = setTimeout(this.tick, Math.max(0, this.nextDue - Date.now()));
  };
}
