/**
 * One recording file, written as fragmented MP4 while it grows (an init segment, then one `moof`+`mdat` per
 * access unit, appended in order), so that a crash loses at most the fragment being written; finished by
 * writing the init again with the file's duration (same size, in place), then renamed from `.part` to
 * `.mp4`. Writes are queued and bounded: a disk that cannot keep up fails the file rather than growing
 * memory.
 */

import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { withDuration } from "../media/fmp4.ts";

/** More than this waiting to be written (about 8 s of a 4 Mbit/s stream): the disk is not keeping up. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** What a clip file needs of an open file (node's FileHandle; a test may hand in one that fails like a full disk). */
export interface WritableFile {
  write(data: Uint8Array, offset: number, length: number, position: number): Promise<unknown>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a file for writing (node's `open`, or a test's fault-injecting stand-in). */
export type OpenForWriting = (path: string) => Promise<WritableFile>;

export const openForWriting: OpenForWriting = (path) => open(path, "w", 0o600);

export class ClipFileError extends Error {
  constructor(
    readonly code: "disk-full" | "write-failed" | "too-slow",
    message: string,
  ) {
    super(message);
    this.name = "ClipFileError";
  }
}

export class ClipFile {
  private handle: WritableFile | undefined;
  private position = 0;
  private queuedBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: ClipFileError | undefined;
  private readonly partPath: string;

  private constructor(
    readonly path: string,
    private readonly init: Uint8Array,
  ) {
    this.partPath = `${path}.part`;
  }

  /** Creates the file and writes its init segment. */
  static async create(
    path: string,
    init: Uint8Array,
    openFile: OpenForWriting = openForWriting,
  ): Promise<ClipFile> {
    const file = new ClipFile(path, init);
    await mkdir(dirname(path), { recursive: true });
    file.handle = await openFile(file.partPath);
    file.append(init);
    return file;
  }

  get bytes(): number {
    return this.position + this.queuedBytes;
  }

  get failed(): ClipFileError | undefined {
    return this.failure;
  }

  /** Queues bytes after what was queued before; never throws (a failure shows in `failed` and `finish`). */
  append(data: Uint8Array): void {
    if (this.failure || !this.handle) return;
    if (this.queuedBytes + data.length > MAX_QUEUED_BYTES) {
      this.failure = new ClipFileError("too-slow", `${this.path}: the disk does not keep up with the stream`);
      return;
    }
    const handle = this.handle;
    this.queuedBytes += data.length;
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        await handle.write(data, 0, data.length, this.position);
        this.position += data.length;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        this.failure = new ClipFileError(
          code === "ENOSPC" || code === "EDQUOT" ? "disk-full" : "write-failed",
          `${this.path}: ${code ?? String(error)}`,
        );
      } finally {
        this.queuedBytes -= data.length;
      }
    });
  }

  /** Writes what is queued, states the duration, and moves the file to its final name. */
  async finish(durationMs: number): Promise<{ bytes: number }> {
    await this.chain;
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) throw new ClipFileError("write-failed", `${this.path}: already finished`);
    try {
      if (this.failure) throw this.failure;
      const init = withDuration(this.init, durationMs);
      await handle.write(init, 0, init.length, 0);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await rm(this.partPath, { force: true });
      throw error instanceof ClipFileError
        ? error
        : new ClipFileError(
            "write-failed",
            `${this.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
          );
    }
    await handle.close();
    await rename(this.partPath, this.path);
    return { bytes: this.position };
  }

  /** Gives up on the file (the camera was removed, camgate stops): the partial file goes. */
  async abandon(): Promise<void> {
    await this.chain;
    await this.handle?.close();
    this.handle = undefined;
    await rm(this.partPath, { force: true });
  }
}
