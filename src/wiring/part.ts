/**
 * A feature of the gateway as one part with one lifecycle (issue 29): made by a factory in its own file that
 * takes the core and the parts it needs by name, it starts in list order and closes in reverse, and it may
 * open and close per-camera work (ports, faces) when this instance comes to own a camera or lets it go.
 *
 * The runner is the only place that knows the order. Each close is guarded and logged with the part's name,
 * so one that throws never leaves the database open; a camera hook that fails is logged with the camera and
 * the part, and the other parts still open (or close) theirs. The models: go2rtc's module list (a feature is
 * a file and a line), MediaMTX's explicit dependencies closed in reverse (internal/core), avvio's close queue.
 */
import type { Logger } from "pino";
import type { CameraEntry } from "../camera/registry.ts";
import { errorText } from "../util/error-text.ts";

export interface Part {
  readonly name: string;
  start?(): Promise<void> | void;
  close?(): Promise<void> | void;
  /** This instance owns the camera now (at start, on a cluster gain, after a reload): open its own work. */
  cameraOwned?(entry: CameraEntry): Promise<void> | void;
  /** This instance lets the camera go (a cluster loss, a reload, shutdown): close what `cameraOwned` opened. */
  cameraReleased?(camera: string): Promise<void> | void;
}

export class PartRunner {
  private readonly parts: Part[] = [];
  private started: Part[] = [];

  constructor(private readonly logger: Logger) {}

  /** Adds a part at the end of the list and hands it back (so `const x = runner.add(makeX(...))`). */
  add<P extends Part>(part: P): P {
    this.parts.push(part);
    return part;
  }

  get names(): string[] {
    return this.parts.map((part) => part.name);
  }

  /**
   * Starts every part in list order. A part that fails to start stops the start: the parts already started
   * are closed in reverse and the error is thrown on.
   */
  async start(): Promise<void> {
    for (const part of this.parts) {
      this.started.push(part);
      try {
        await part.start?.();
      } catch (error) {
        await this.close();
        throw error;
      }
    }
  }

  /** Closes the started parts in reverse order; each close is guarded, so every one runs. */
  async close(): Promise<void> {
    const started = this.started.reverse();
    this.started = [];
    for (const part of started) {
      try {
        await part.close?.();
      } catch (error) {
        this.logger.error({ part: part.name, err: errorText(error) }, `closing ${part.name} failed`);
      }
    }
  }

  /**
   * Tells every part, in list order, that this instance owns the camera; a failure does not stop the rest.
   * Gives the failures, so a caller that must (start-up) can refuse on them.
   */
  async cameraOwned(entry: CameraEntry): Promise<unknown[]> {
    const failures: unknown[] = [];
    for (const part of this.parts) {
      if (!part.cameraOwned) continue;
      try {
        await part.cameraOwned(entry);
      } catch (error) {
        failures.push(error);
        this.logger.warn(
          { camera: entry.id, part: part.name, err: errorText(error) },
          `${part.name}: could not open the camera's own work`,
        );
      }
    }
    return failures;
  }

  /** Tells every part, in reverse order, that this instance lets the camera go. */
  async cameraReleased(camera: string): Promise<void> {
    for (const part of [...this.parts].reverse()) {
      if (!part.cameraReleased) continue;
      try {
        await part.cameraReleased(camera);
      } catch (error) {
        this.logger.warn(
          { camera, part: part.name, err: errorText(error) },
          `${part.name}: could not close the camera's own work`,
        );
      }
    }
  }
}
