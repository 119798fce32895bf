/**
 * The scored scenes (issue 32): the emulator renders a scene (a walker, sensor noise, a brightness step,
 * the IR switch, a tree swaying in a masked area), JPEG-encoded as its MJPEG stream sends it; camgate's
 * motion detection looks at it as it runs (decoded shrunk on load to 160 pixels, 5 pictures a second of
 * scene time) while the camera's own motion, which fires on all of them as a camera's noisy detection
 * does, asks to be confirmed. Printed per scene: the camera's motions confirmed and rejected, and the
 * episodes camgate saw on its own (what `use: detect` would alert on) per hour of scene time. Minutes of
 * scene time here; `npm run bench -- motion` runs each scene for an hour.
 */
import { describe, expect, it } from "vitest";
import { type Score, scenes, scoreAll } from "../helpers/motion-scenes.ts";

describe("scored scenes", { timeout: 300_000 }, () => {
  it("confirms the camera's motion when something moves, and rejects noise, light and a masked tree", async () => {
    const scores = await scoreAll(scenes());
    console.log("motion scenes (5 pictures/s of scene time, 352x240 JPEG, analysed at 160 px):");
    console.table(scores);
    console.log(JSON.stringify({ motionScenes: scores }));
    const by = (name: string) => scores.find((s) => s.scene === name) as Score;
    // Every walk the camera reported is confirmed, with the zone it walked in (and not the street).
    // ... each walk an episode of its own (the ghost of the first picture does not join two walks).
    for (const name of ["walker", "walker and masked tree"]) {
      expect(by(name).rejected, name).toBe(0);
      expect(by(name).ownEpisodes, name).toBe(by(name).cameraMotions);
    }
    expect(by("walker").zones).toEqual(["driveway"]);
    // Noise, light and the masked tree: every camera motion rejected, and none of camgate's own episodes.
    for (const name of ["noise", "brightness step", "IR switch", "tree, masked"]) {
      expect(by(name).confirmed, name).toBe(0);
      expect(by(name).ownEpisodes, name).toBe(0);
    }
    expect(by("tree, unmasked").confirmed).toBeGreaterThan(0);
  });
});
