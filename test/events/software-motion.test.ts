/**
 * camgate's motion detection end to end: an emulated camera's MJPEG sub-stream shows a scene; its own
 * motion fires (as a camera's noisy detection does). A figure walking in the driveway confirms the camera's
 * incident, names the zone, and reaches a notification target limited to the driveway with the picture
 * (and not one limited to the street); a brightness step leaves the camera's motion unconfirmed; a camera
 * camgate detects for (`use: detect`) gets incidents of camgate's own. Nothing here waits by sleeping: each
 * step waits for what camgate says it has seen (its motion status, the store).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Incident } from "../../src/events/incidents.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import { DRIVEWAY, OSD, STREET } from "../helpers/motion-scenes.ts";
import { decoded, PostReceiver } from "../helpers/ntfy-receiver.ts";

const JPEG_START = Buffer.from([0xff, 0xd8]);
/** The sub-stream at the rate camgate looks at (the emulator's default 15 would render three times the work). */
const FIVE_FPS = { config: { "Encode[0].ExtraFormat[0].Video.FPS": 5 } };
const WALKER = { kind: "walker", periodMs: 600_000, walkMs: 6000, y: 0.55, size: 0.3 } as const;
const motion = (use: "confirm" | "detect") => ({
  enabled: true,
  use,
  masks: OSD.map((p) => p.map(([x, y]) => [x, y] as [number, number])),
  zones: [DRIVEWAY, STREET].map((z) => ({
    name: z.name,
    points: z.points.map(([x, y]) => [x, y] as [number, number]),
  })),
});

describe("software motion", () => {
  let gw: TestGateway;
  const ntfy = new PostReceiver();

  beforeAll(async () => {
    await ntfy.start();
    const smtpPort = await freePort();
    gw = await startTestGateway({
      smtp: {
        listen: `127.0.0.1:${smtpPort}`,
        username: "cams",
        password: "mail-pw",
        maxSizeBytes: 2_000_000,
      },
      cameras: [
        // Its motion reaches camgate only as alarm mail (the event stream carries other codes).
        {
          id: "gate",
          profile: "amcrest-ip2m-841b",
          emulator: {
            ...FIVE_FPS,
            smtp: { host: "127.0.0.1", port: smtpPort, username: "cams", password: "mail-pw" },
          },
          config: { name: "Gate", events: { codes: ["VideoBlind"] }, motion: motion("confirm") },
        },
        {
          id: "yard",
          profile: "amcrest-ipm-723w",
          emulator: FIVE_FPS,
          config: { name: "Back yard", motion: motion("confirm") },
        },
        {
          id: "lane",
          profile: "amcrest-ipm-723w",
          emulator: FIVE_FPS,
          config: { name: "Lane", motion: motion("detect") },
        },
        // A camera whose sub-stream is H.264 only: snapshots instead of MJPEG.
        {
          id: "porch",
          profile: "amcrest-ipm-723w",
          config: { name: "Porch", motion: { ...motion("detect"), frames: "snapshots", fps: 4 } },
        },
      ],
      events: { enabled: true, heartbeatSeconds: 1 },
      notify: [
        {
          name: "driveway",
          url: ntfy.url("/driveway"),
          kinds: ["confirmed-motion"],
          zones: ["driveway"],
          cooldownSeconds: 0,
        },
        {
          name: "street",
          url: ntfy.url("/street"),
          kinds: ["confirmed-motion"],
          zones: ["street"],
          cooldownSeconds: 0,
        },
      ],
    });
    for (const id of ["yard", "lane", "porch", "gate"]) gw.cameras.get(id)?.control.setScene([]);
    await waitFor(
      () =>
        gw.camgate.events.sources.streams.get("yard")?.current === "live" &&
        ["yard", "lane", "porch", "gate"].every((id) => gw.camgate.motion.status(id)?.state === "watching")
          ? true
          : undefined,
      20_000,
      "the event stream live and both cameras watched",
    );
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await ntfy.stop();
  });

  const control = (id: string) => {
    const camera = gw.cameras.get(id);
    if (!camera) throw new Error(`no camera ${id}`);
    return camera.control;
  };

  /** The newest motion incident of a camera that began at or after `after`. */
  async function motionIncident(
    camera: string,
    after: number,
    done: (i: Incident) => boolean,
  ): Promise<Incident> {
    return waitFor(
      async () => {
        const page = await gw.camgate.events.store.incidents.list({
          cameras: "*",
          camera,
          code: "VideoMotion",
          limit: 5,
        });
        const incident = page.incidents.find((i) => Date.parse(i.start) >= after);
        return incident && done(incident) ? incident : undefined;
      },
      20_000,
      `a motion incident of ${camera}`,
    );
  }

  /** Waits until camgate has looked at `count` more pictures of the camera. */
  async function picturesLater(camera: string, count: number): Promise<void> {
    const from = gw.camgate.motion.status(camera)?.picturesAnalysed ?? 0;
    await waitFor(
      () => ((gw.camgate.motion.status(camera)?.picturesAnalysed ?? 0) >= from + count ? true : undefined),
      30_000,
      `${count} pictures of ${camera} analysed`,
    );
  }

  it("a figure walking in the driveway confirms the camera's motion and notifies the driveway's target with the picture", async () => {
    const before = Date.now();
    control("yard").setScene([WALKER]);
    control("yard").trigger("VideoMotion", "Start");
    const incident = await motionIncident("yard", before, (i) => i.confirmed === true);
    expect(incident.sources).toEqual(["camera", "motion"]);
    const [post] = await waitFor(
      () => (ntfy.to("/driveway").length > 0 ? ntfy.to("/driveway") : undefined),
      15_000,
      "the notification",
    );
    if (!post) throw new Error("no notification");
    expect(post.body.subarray(0, 2)).toEqual(JPEG_START);
    expect(decoded(post.headers.title)).toBe("Back yard: Motion");
    expect(decoded(post.headers.message)).toMatch(/^Motion in driveway at \d\d:\d\d, seen by camgate$/);
    control("yard").trigger("VideoMotion", "Stop");
    const ended = await motionIncident("yard", before, (i) => !i.ongoing);
    expect(ended.confirmed).toBe(true);
    // camgate's own transitions name the zone and where it moved.
    const page = await gw.camgate.events.store.list({
      cameras: "*",
      camera: "yard",
      code: "VideoMotion",
      limit: 10,
    });
    const own = page.events.find((e) => e.source === "motion" && e.action === "start");
    expect(own?.data).toMatchObject({ zones: ["driveway"], use: "confirm" });
    expect(own?.snapshot).toBe(true);
    expect(ntfy.to("/street")).toEqual([]);
  });

  it("a brightness step is not motion: the camera's motion stays unconfirmed", async () => {
    control("yard").setScene([{ kind: "brightness", periodMs: 3000, factor: 0.55 }]);
    // Past the hold of the walk before, so nothing of it is still going on.
    await waitFor(
      () => (gw.camgate.motion.status("yard")?.state === "watching" ? true : undefined),
      20_000,
      "the walk over",
    );
    const before = Date.now();
    const notified = ntfy.to("/driveway").length;
    control("yard").trigger("VideoMotion", "Start");
    // Three steps of light (9 s at 5 pictures a second).
    await picturesLater("yard", 45);
    control("yard").trigger("VideoMotion", "Stop");
    const incident = await motionIncident("yard", before, (i) => !i.ongoing);
    expect(incident).toMatchObject({ confirmed: false, sources: ["camera"] });
    expect(ntfy.to("/driveway").length).toBe(notified);
  });

  it("with `use: detect`, camgate's own motion is the camera's motion", async () => {
    const before = Date.now();
    control("lane").setScene([WALKER]);
    const incident = await motionIncident("lane", before, (i) => i.confirmed === true);
    expect(incident.sources).toEqual(["motion"]);
    const ended = await motionIncident("lane", before, (i) => !i.ongoing);
    expect(ended.durationMs).toBeGreaterThan(0);
  });

  it("from snapshots, for a camera without an MJPEG stream: no MJPEG upstream is opened", async () => {
    const before = Date.now();
    control("porch").setScene([WALKER]);
    const incident = await motionIncident("porch", before, (i) => i.confirmed === true);
    expect(incident.sources).toEqual(["motion"]);
    // The MJPEG path was never asked for; the snapshots were.
    const paths = gw.cameras.get("porch")?.control.counters().requestsByPath ?? {};
    expect(Object.keys(paths).filter((path) => path.includes("mjpg"))).toEqual([]);
    expect(paths["/cgi-bin/snapshot.cgi"] ?? 0).toBeGreaterThan(0);
  });

  it("an alarm mail is the camera's motion too: camgate confirms the mail's incident", async () => {
    const before = Date.now();
    control("gate").setScene([WALKER]);
    control("gate").trigger("VideoMotion", "Start");
    const incident = await motionIncident("gate", before, (i) => i.confirmed === true);
    expect(incident.sources).toEqual(["email", "motion"]);
  });
});
