/** One log line per change of an upstream's state: a failure, another failure, back; never a line a retry. */
import { describe, expect, it } from "vitest";
import { CameraError } from "../../src/camera/errors.ts";
import { StreamNarrator } from "../../src/camera/stream-narrator.ts";
import type { StreamDown } from "../../src/camera/stream-status.ts";

function setup() {
  const lines: string[] = [];
  let now = 0;
  const narrator = new StreamNarrator(
    { warn: (message) => lines.push(message), info: (message) => lines.push(message) },
    "MJPEG stream",
    {},
    () => now,
  );
  const down = (reason: string): StreamDown => ({
    code: "ended",
    error: new CameraError("unreachable", "cam", reason),
  });
  return { lines, narrator, down, advance: (ms: number) => (now += ms) };
}

describe("StreamNarrator", () => {
  it("says a failure once however often it is retried, a new reason again, and the stream back once", () => {
    const { lines, narrator, down, advance } = setup();
    for (let i = 0; i < 5; i++) {
      narrator.down(down("answered 404"), 1000);
      advance(1000);
    }
    narrator.down(down("answered 503"), 1000);
    narrator.live();
    expect(lines).toEqual([
      "MJPEG stream down: camera cam: answered 404",
      "MJPEG stream down: camera cam: answered 503",
      "MJPEG stream live again",
    ]);
  });

  it("says a stream that flaps (back, and down again for the same reason at once) twice, not per flap", () => {
    const { lines, narrator, down, advance } = setup();
    for (let i = 0; i < 20; i++) {
      narrator.down(down("the camera ended the stream"), 1000);
      advance(2000);
      narrator.live();
      advance(1000);
    }
    expect(lines).toEqual([
      "MJPEG stream down: camera cam: the camera ended the stream",
      "MJPEG stream live again",
    ]);
  });

  it("says the same failure again once the stream had held in between", () => {
    const { lines, narrator, down, advance } = setup();
    narrator.down(down("stalled"), 1000);
    narrator.live();
    advance(60_000);
    narrator.down(down("stalled"), 1000);
    expect(lines).toEqual([
      "MJPEG stream down: camera cam: stalled",
      "MJPEG stream live again",
      "MJPEG stream down: camera cam: stalled",
    ]);
  });

  it("says nothing when a stream that never failed goes live", () => {
    const { lines, narrator } = setup();
    narrator.live();
    expect(lines).toEqual([]);
  });
});
