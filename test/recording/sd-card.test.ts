/**
 * The camera's SD card through camgate: the emulator's recordings (DHAV files, as the firmware writes them)
 * are listed with their times on camgate's clock (the camera's clock runs 2 h ahead, like a camera east of
 * Greenwich), downloaded byte for byte, read by ffprobe as H.264; the find object is always closed and
 * destroyed; a path outside the card's recordings is refused before anything is sent to the camera.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { searchSdCard } from "../../src/camera/sd-card.ts";
import type { EmulatedCamera } from "../../src/emulator/camera.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { runTool } from "../helpers/rtsp.ts";

interface ListedFile {
  path: string;
  start: string;
  end: string;
  cameraStart: string;
  bytes: number;
  type: string;
  flags: string[];
  events: string[];
  url: string;
}

const AHEAD_MS = 2 * 3600_000;

describe("the camera's SD card", () => {
  let gw: TestGateway;
  let camera: EmulatedCamera;
  const dir = mkdtempSync(join(tmpdir(), "camgate-sd-"));

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [{ id: "door", profile: "amcrest-ip2m-841b", emulator: { clockOffsetMs: AHEAD_MS } }],
    });
    camera = gw.cameras.get("door")?.camera as EmulatedCamera;
  });

  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists the card's recordings on camgate's clock and downloads each byte for byte", async () => {
    const answer = await fetch(`${gw.url}/api/v1/cameras/door/sdcard?from=${Date.now() - 2 * 3600_000}`);
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { files: ListedFile[]; cameraClockOffsetMs: number; cut: null };
    expect(Math.abs(body.cameraClockOffsetMs - AHEAD_MS)).toBeLessThanOrEqual(1000);
    expect(body.cut).toBeNull();
    const card = camera.sdCard.recordings;
    expect(body.files.map((f) => f.path)).toEqual(card.map((r) => r.path));
    for (const [i, file] of body.files.entries()) {
      const recording = card[i];
      if (!recording) throw new Error("no such recording");
      // The camera's clock says startTime; camgate's timeline puts it 2 h earlier, at the real moment.
      expect(file.cameraStart).toBe(recording.startTime);
      expect(Math.abs(Date.parse(file.start) - (recording.startedAt - AHEAD_MS))).toBeLessThanOrEqual(1000);
      expect(file.flags).toEqual(recording.flags);
      expect(file.events).toEqual(recording.events);
      expect(file.type).toBe("dav");
      const download = await fetch(`${gw.url}${file.url}`);
      expect(download.status).toBe(200);
      expect(download.headers.get("content-disposition")).toMatch(/^attachment; filename="door-.*\.dav"$/);
      const bytes = Buffer.from(await download.arrayBuffer());
      expect(bytes.length).toBe(file.bytes);
      expect(bytes.equals(camera.sdCard.file(file.path) ?? Buffer.alloc(0))).toBe(true);
    }
    // Every search object was given back.
    expect(camera.sdCard.openFinders).toBe(0);

    const ffprobe = locateFfprobe();
    if (!ffprobe) {
      if (process.env.CI === "true") throw new Error("ffprobe is not installed");
      return;
    }
    const first = body.files[0] as ListedFile;
    const file = join(dir, "first.dav");
    writeFileSync(file, Buffer.from(await (await fetch(`${gw.url}${first.url}`)).arrayBuffer()));
    const probe = await runTool(ffprobe, [
      "-v",
      "error",
      "-count_frames",
      "-show_entries",
      "format=format_name:stream=codec_name,width,height,nb_read_frames",
      "-of",
      "json",
      file,
    ]);
    expect(probe.code).toBe(0);
    const probed = JSON.parse(probe.stdout.toString()) as {
      format: { format_name: string };
      streams: { codec_name: string; width: number; nb_read_frames: string }[];
    };
    expect(probed.format.format_name).toBe("dhav");
    expect(probed.streams[0]).toMatchObject({ codec_name: "h264", width: 320 });
    expect(Number(probed.streams[0]?.nb_read_frames)).toBe(((card[0]?.durationMs ?? 0) / 1000) * 25);
  });

  it("pages through the search as the camera answers it, and closes it even when stopped early", async () => {
    const api = gw.camgate.cameras.get("door")?.api;
    if (!api) throw new Error("no camera");
    const from = "2000-01-01 00:00:00";
    const to = "2037-12-31 23:59:59";
    const paths: string[] = [];
    for await (const file of searchSdCard(api, from, to, { pageSize: 1 })) paths.push(file.path);
    expect(paths).toEqual(camera.sdCard.recordings.map((r) => r.path));
    for await (const _file of searchSdCard(api, from, to, { pageSize: 1 })) break;
    expect(camera.sdCard.openFinders).toBe(0);
    // A bounded search: one page asked for, and the consumer told it was cut.
    const cuts: string[] = [];
    const seen: string[] = [];
    for await (const file of searchSdCard(api, from, to, {
      pageSize: 1,
      maxPages: 1,
      onCut: (r) => cuts.push(r),
    }))
      seen.push(file.path);
    expect(seen).toHaveLength(1);
    expect(cuts).toEqual(["stopped after 1 pages"]);
    expect(camera.sdCard.openFinders).toBe(0);
  });

  it("refuses paths outside the card's recordings without asking the camera, and a missing file is a 404", async () => {
    const before = camera.getCounters().requestsByPath;
    for (const path of [
      "/mnt/mtd/Config/passwd",
      "/mnt/sd/../mtd/Config/passwd.dav",
      "/etc/shadow",
      "/mnt/sd/2026-12-02/x.txt",
    ]) {
      const answer = await fetch(
        `${gw.url}/api/v1/cameras/door/sdcard/file?path=${encodeURIComponent(path)}`,
      );
      expect(answer.status).toBe(400);
    }
    const after = camera.getCounters().requestsByPath;
    const loads = (counts: Record<string, number>) =>
      Object.entries(counts)
        .filter(([path]) => path.startsWith("/cgi-bin/RPC_Loadfile"))
        .reduce((sum, [, n]) => sum + n, 0);
    expect(loads(after)).toBe(loads(before));
    // A recording the card does not have (overwritten since it was listed): the camera's 200 Error body.
    const missing = await fetch(
      `${gw.url}/api/v1/cameras/door/sdcard/file?path=${encodeURIComponent("/mnt/sd/2020-01-01/001/dav/00/00.00.00-00.00.05[R][0@0][0].dav")}`,
    );
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe("not-found");
  });
});
