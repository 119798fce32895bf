/**
 * Tasks run one after another, in the order they were given: a camera's PTZ commands go through one, so a
 * release (stop) can never overtake its press (move) on the way to the camera. A failed task fails only its
 * caller; the next one runs anyway.
 */
export class InOrder {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
