/**
 * The scored scenes of camgate's motion detection (issue 32), shared by the test (minutes of scene time)
 * and `npm run bench -- motion` (an hour of each): the emulator's renderer draws the scene as its MJPEG
 * stream would send it, camgate's decoder, detector, episodes and confirmation gate judge it, while the
 * camera's own motion fires on a schedule as a noisy camera detection does.
 */
import { FrameRenderer } from "../../src/emulator/frame-renderer.ts";
import type { SceneLayer } from "../../src/emulator/scene-layers.ts";
import { type GateOutput, MotionGate } from "../../src/events/motion-gate.ts";
import { decodeGrey } from "../../src/events/software-motion.ts";
import { MotionDetector, type NamedPolygon } from "../../src/media/motion/motion-detector.ts";
import { MotionEpisodes } from "../../src/media/motion/motion-episodes.ts";
import type { Polygon } from "../../src/media/motion/polygon-mask.ts";

const FPS = 5;

export interface SceneRun {
  name: string;
  layers: SceneLayer[];
  minutes: number;
  /** When the camera's own motion starts and how long it lasts (ms of scene time). */
  cameraMotions: { at: number; forMs: number }[];
  masks?: Polygon[];
  zones?: NamedPolygon[];
}

export interface Score {
  scene: string;
  minutes: number;
  cameraMotions: number;
  confirmed: number;
  rejected: number;
  ownEpisodes: number;
  ownPerHour: number;
  zones: string[];
}

export function every(periodMs: number, minutes: number, offsetMs: number, forMs: number) {
  const motions: { at: number; forMs: number }[] = [];
  for (let at = offsetMs; at + forMs < minutes * 60_000; at += periodMs) motions.push({ at, forMs });
  return motions;
}

/** Runs a scene through the renderer, the decoder, the detector, the episodes and the confirmation gate. */
export async function score(run: SceneRun): Promise<Score> {
  const renderer = new FrameRenderer(352, 240);
  const episodes = new MotionEpisodes({ minDurationMs: 600, maxGapMs: 1000, holdMs: 5000 });
  const gate = new MotionGate("confirm");
  let detector: MotionDetector | undefined;
  let ownEpisodes = 0;
  const zones = new Set<string>();
  // Per camera motion: whether camgate's start came while it was on.
  const confirmed = new Set<number>();
  const endMs = run.minutes * 60_000;
  let cameraIndex = -1;
  let cameraOn = false;
  const take = (outputs: GateOutput[]) => {
    for (const output of outputs)
      if (output.action === "start") {
        confirmed.add(cameraIndex);
        for (const zone of output.zones) zones.add(zone);
      }
  };
  for (let t = 0; t < endMs; t += 1000 / FPS) {
    // The camera's own motion starts and stops on its schedule.
    const next = run.cameraMotions[cameraIndex + 1];
    if (!cameraOn && next && t >= next.at) {
      cameraIndex++;
      cameraOn = true;
      take(gate.camera(true));
    }
    const current = run.cameraMotions[cameraIndex];
    if (cameraOn && current && t >= current.at + current.forMs) {
      cameraOn = false;
      take(gate.camera(false));
    }
    const frame = await renderer.render(
      {
        cameraName: "SCENE",
        clockText: "2026-12-07 10:00:00",
        pan: 0,
        tilt: 0,
        zoom: 1,
        black: false,
        layers: run.layers,
        sceneElapsedMs: t,
      },
      1_800_000_000_000 + t,
    );
    const picture = await decodeGrey(frame.jpeg, 160);
    detector ??= new MotionDetector(
      picture.width,
      picture.height,
      undefined,
      run.masks ?? [],
      run.zones ?? [],
    );
    const verdict = detector.push(picture.grey);
    const change = episodes.push(verdict.motion, verdict.zones, t);
    if (change?.kind === "start") ownEpisodes++;
    if (change) take(gate.software(change));
  }
  const cameraMotions = run.cameraMotions.length;
  return {
    scene: run.name,
    minutes: run.minutes,
    cameraMotions,
    confirmed: confirmed.size,
    rejected: cameraMotions - confirmed.size,
    ownEpisodes,
    ownPerHour: Math.round((ownEpisodes / run.minutes) * 60 * 10) / 10,
    zones: [...zones],
  };
}

// The OSD's clock changes every second; masked as owners mask it (Frigate's docs advise the same).
export const OSD: Polygon[] = [
  [
    [0, 0],
    [1, 0],
    [1, 0.1],
    [0, 0.1],
  ],
  [
    [0, 0.9],
    [1, 0.9],
    [1, 1],
    [0, 1],
  ],
];
export const TREE_BOX = { x: 0.62, y: 0.12, width: 0.3, height: 0.4 };
export const TREE_MASK: Polygon = [
  [0.6, 0.1],
  [0.94, 0.1],
  [0.94, 0.54],
  [0.6, 0.54],
];
// Still, but for a gust of wind of 5 s every 20 s (the camera's motion fires in each gust).
export const TREE: SceneLayer = { kind: "tree", ...TREE_BOX, swayMs: 1600, periodMs: 20_000, gustMs: 5000 };
export const WALKER: SceneLayer = { kind: "walker", periodMs: 20_000, walkMs: 6000, y: 0.55, size: 0.3 };
export const DRIVEWAY: NamedPolygon = {
  name: "driveway",
  points: [
    [0, 0.5],
    [1, 0.5],
    [1, 0.9],
    [0, 0.9],
  ],
};
export const STREET: NamedPolygon = {
  name: "street",
  points: [
    [0, 0.1],
    [1, 0.1],
    [1, 0.3],
    [0, 0.3],
  ],
};

/** The scenes at `scale` (1: the test's minutes; the bench multiplies them). */
export function scenes(scale = 1): SceneRun[] {
  const m = (minutes: number) => minutes * scale;
  return [
    {
      name: "walker",
      layers: [WALKER],
      minutes: m(1),
      cameraMotions: every(20_000, m(1), 500, 8000),
      masks: OSD,
      zones: [DRIVEWAY, STREET],
    },
    {
      name: "noise",
      layers: [{ kind: "noise", amplitude: 24 }],
      minutes: m(1.5),
      cameraMotions: every(30_000, m(1.5), 10_000, 5000),
      masks: OSD,
    },
    {
      name: "brightness step",
      layers: [{ kind: "brightness", periodMs: 30_000, factor: 0.55 }],
      minutes: m(1.5),
      cameraMotions: every(30_000, m(1.5), 30_000, 5000),
      masks: OSD,
    },
    {
      name: "IR switch",
      layers: [{ kind: "ir", periodMs: 30_000 }],
      minutes: m(2),
      cameraMotions: every(30_000, m(2), 30_000, 6000),
      masks: OSD,
    },
    {
      name: "tree, masked",
      layers: [TREE],
      minutes: m(1),
      cameraMotions: every(20_000, m(1), 500, 6000),
      masks: [...OSD, TREE_MASK],
    },
    {
      name: "walker and masked tree",
      layers: [TREE, WALKER],
      minutes: m(1),
      cameraMotions: every(20_000, m(1), 500, 8000),
      masks: [...OSD, TREE_MASK],
    },
    // The same tree unmasked: the mask is what keeps it out (this one is confirmed).
    {
      name: "tree, unmasked",
      layers: [TREE],
      minutes: m(0.5),
      cameraMotions: every(20_000, m(0.5), 500, 6000),
      masks: OSD,
    },
  ];
}

/** Scores the scenes two at a time (renders and decodes run on libuv's threads, the judging on this one). */
export async function scoreAll(runs: SceneRun[]): Promise<Score[]> {
  const scores: Score[] = [];
  for (let i = 0; i < runs.length; i += 2)
    scores.push(...(await Promise.all(runs.slice(i, i + 2).map((run) => score(run)))));
  return scores;
}
