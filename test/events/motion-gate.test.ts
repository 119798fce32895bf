/**
 * The confirmation gate (pure), over any sequence of the camera's motion and camgate's episodes: what it
 * publishes alternates start and stop (pulses only inside), and with `use: confirm` a start is published
 * only while the camera's motion is on and every published episode ends by the camera's stop at the latest;
 * with `use: detect` it publishes every episode as it is, whatever the camera says.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type GateOutput, MotionGate, type MotionUse } from "../../src/events/motion-gate.ts";
import type { EpisodeChange } from "../../src/media/motion/motion-episodes.ts";

type Step = { camera: boolean } | { software: "start" | "zones" | "stop" };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ camera: fc.boolean() }),
  fc.record({ software: fc.constantFrom("start" as const, "zones" as const, "stop" as const) }),
);

/** Feeds the steps in the order episodes can happen (zones and stop only inside an episode). */
function run(use: MotionUse, steps: Step[]) {
  const gate = new MotionGate(use);
  let episode = false;
  let cameraOn = false;
  const log: { output: GateOutput; cameraOn: boolean; episode: boolean }[] = [];
  for (const s of steps) {
    let outputs: GateOutput[] = [];
    if ("camera" in s) {
      cameraOn = s.camera;
      outputs = gate.camera(s.camera);
    } else {
      if (s.software === "start" && episode) continue;
      if (s.software !== "start" && !episode) continue;
      episode = s.software !== "stop";
      const change: EpisodeChange =
        s.software === "zones"
          ? { kind: "zones", at: 0, zones: ["a", "b"], added: ["b"] }
          : { kind: s.software, at: 0, zones: ["a"] };
      outputs = gate.software(change);
    }
    for (const output of outputs) log.push({ output, cameraOn, episode });
  }
  return { log, gate };
}

describe("the motion gate", () => {
  it("publishes start and stop alternately, pulses only between them (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<MotionUse>("confirm", "detect"),
        fc.array(step, { maxLength: 60 }),
        (use, steps) => {
          const { log, gate } = run(use, steps);
          let open = false;
          for (const { output } of log) {
            if (output.action === "start") expect(open).toBe(false);
            else expect(open).toBe(true);
            if (output.action !== "pulse") open = output.action === "start";
          }
          expect(gate.isPublished).toBe(open);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("confirm: a start only while the camera's motion is on, and nothing published outlives it (property)", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { log, gate } = run("confirm", steps);
        for (const { output, cameraOn } of log) if (output.action === "start") expect(cameraOn).toBe(true);
        const lastCamera = [...steps].reverse().find((s): s is { camera: boolean } => "camera" in s);
        if (!lastCamera?.camera) expect(gate.isPublished).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("detect: every episode as it is, whatever the camera says (property)", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { log } = run("detect", steps);
        for (const { output, episode } of log) expect(output.action === "stop").toBe(!episode);
      }),
      { numRuns: 500 },
    );
  });

  it("an episode that began before the camera's start is published at the camera's start", () => {
    const gate = new MotionGate("confirm");
    expect(gate.software({ kind: "start", at: 0, zones: ["drive"] })).toEqual([]);
    expect(gate.camera(true)).toEqual([{ action: "start", zones: ["drive"] }]);
    expect(gate.software({ kind: "zones", at: 1, zones: ["drive", "gate"], added: ["gate"] })).toEqual([
      { action: "pulse", zones: ["gate"], allZones: ["drive", "gate"] },
    ]);
    expect(gate.camera(false)).toEqual([{ action: "stop", zones: ["drive", "gate"] }]);
    expect(gate.software({ kind: "stop", at: 2, zones: ["drive", "gate"] })).toEqual([]);
  });
});
