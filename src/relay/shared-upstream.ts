/**
 * The readers of one upstream, as every hub shares one (MJPEG viewers, media consumers, event listeners):
 * the upstream starts with the first reader and stops a linger after the last one leaves (a reader that
 * comes back within it finds it still open), or stays open with `preload`. Once closed, nobody is added.
 */
export interface SharedUpstreamOptions {
  lingerMs: number;
  /** Keep the upstream open with no reader (from `openPreloaded`). */
  preload: boolean;
  start(): void;
  /** The upstream is no longer needed (the linger ran out, or the hub closed). */
  stop(): void;
}

export class SharedUpstream<Reader> {
  readonly readers = new Set<Reader>();
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: SharedUpstreamOptions) {}

  /** Opens a preloaded upstream now (called by its hub once the hub is built: its callbacks may run). */
  openPreloaded(): void {
    if (this.options.preload && !this.closed) this.options.start();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get size(): number {
    return this.readers.size;
  }

  /** Adds a reader and starts the upstream if needed; false (nothing added) once closed. */
  add(reader: Reader): boolean {
    if (this.closed) return false;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.readers.add(reader);
    this.options.start();
    return true;
  }

  /** Removes a reader; the last one to leave stops the upstream after the linger. */
  remove(reader: Reader): void {
    if (!this.readers.delete(reader) || this.readers.size > 0 || this.options.preload || this.closed) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.readers.size === 0 && !this.options.preload) this.options.stop();
    }, this.options.lingerMs);
  }

  close(): void {
    this.closed = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.readers.clear();
    this.options.stop();
  }
}
