/**
 * Evidence export across cameras: an incident on one camera, recorded continuously with a second camera;
 * the archive asked for the incident (with pre- and post-roll) and the other camera, followed to `ready`,
 * downloaded whole and in two resumed halves (the same bytes), read by peers camgate did not write
 * (Python's zipfile checks every CRC; ffprobe decodes each camera's MP4), and checked by `camgate verify`,
 * which fails once a byte of a video or of the manifest is changed, or with another key's fingerprint.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");

interface Job {
  id: string;
  state: "preparing" | "ready" | "failed";
  progress: { done: number; total: number };
  size?: number;
  error?: string;
  download: string;
  status: string;
  manifest?: {
    range: { from: string; to: string };
    incident: { id: string } | null;
    cameras: { id: string; file: string | null; gaps: unknown[]; durationMs: number }[];
    files: { name: string; size: number; sha256: string }[];
    key: { fingerprint: string };
  };
}

async function verify(file: string, ...flags: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, "verify", file, ...flags], { timeout: 60_000 });
    return { code: 0, out: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, out: failed.stdout ?? "" };
  }
}

describe("evidence export", () => {
  let gw: TestGateway;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "camgate-evidence-"));
    const continuous = { recording: { continuous: { segmentSeconds: 2 } } };
    gw = await startTestGateway({
      cameras: [
        { id: "yard", profile: "amcrest-ipm-723w", config: { name: "Yard", ...continuous } },
        { id: "gate", profile: "amcrest-ip2m-841b", config: { name: "Gate", ...continuous } },
      ],
      events: { enabled: true, heartbeatSeconds: 1 },
    });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (path: string, init?: RequestInit) => fetch(`${gw.url}${path}`, init);

  it("an incident and a second camera: one archive that peers read and camgate verify checks", async () => {
    // Footage of both cameras first (a few 2 s segments each).
    await waitFor(
      async () => {
        for (const camera of ["yard", "gate"]) {
          const list = (await (await api(`/api/v1/cameras/${camera}/recordings`)).json()) as {
            recordings: { kind: string; state: string }[];
          };
          if (list.recordings.filter((r) => r.kind === "segment" && r.state === "done").length < 2)
            return undefined;
        }
        return true;
      },
      40_000,
      "two finished segments of each camera",
    );
    await waitFor(
      () => (gw.camgate.events.sources.streams.get("yard")?.current === "live" ? true : undefined),
      10_000,
      "the event stream",
    );
    const control = gw.cameras.get("yard")?.control;
    control?.trigger("VideoMotion", "Start");
    const incident = await waitFor(
      async () =>
        (
          (await (await api("/api/v1/incidents?camera=yard&code=VideoMotion")).json()) as {
            incidents: { id: string }[];
          }
        ).incidents[0],
      10_000,
      "the incident",
    );
    control?.trigger("VideoMotion", "Stop");
    await waitFor(
      async () =>
        ((await (await api(`/api/v1/incidents/${incident.id}`)).json()) as { ongoing: boolean }).ongoing ===
        false
          ? true
          : undefined,
      10_000,
      "the incident's end",
    );

    const asked = await api("/api/v1/evidence", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ incident: incident.id, cameras: ["gate"], preSeconds: 4, postSeconds: 0 }),
    });
    expect(asked.status).toBe(202);
    const started = (await asked.json()) as Job;
    const job = await waitFor(
      async () => {
        const now = (await (await api(started.status)).json()) as Job;
        if (now.state === "failed") throw new Error(now.error);
        return now.state === "ready" ? now : undefined;
      },
      30_000,
      "the archive ready",
    );
    const manifest = job.manifest;
    if (!manifest || !job.size) throw new Error("no manifest");
    expect(manifest.incident?.id).toBe(incident.id);
    expect(manifest.cameras.map((c) => c.id)).toEqual(["yard", "gate"]);
    for (const camera of manifest.cameras) {
      expect(camera.file).toBe(`cameras/${camera.id}.mp4`);
      expect(camera.durationMs).toBeGreaterThan(2000);
    }
    expect(manifest.files.map((f) => f.name)).toEqual(
      expect.arrayContaining(["cameras/yard.mp4", "cameras/gate.mp4", "events.json"]),
    );
    const key = (await (await api("/api/v1/evidence/key")).json()) as { fingerprint: string };
    expect(manifest.key.fingerprint).toBe(key.fingerprint);

    // Whole, and resumed: the first half, then the rest from where it broke: the same bytes.
    const whole = Buffer.from(await (await api(job.download)).arrayBuffer());
    expect(whole.length).toBe(job.size);
    const half = Math.floor(whole.length / 2);
    const first = await api(job.download, { headers: { range: `bytes=0-${half - 1}` } });
    const rest = await api(job.download, { headers: { range: `bytes=${half}-` } });
    expect([first.status, rest.status]).toEqual([206, 206]);
    expect(
      Buffer.concat([Buffer.from(await first.arrayBuffer()), Buffer.from(await rest.arrayBuffer())]),
    ).toEqual(whole);
    const archive = join(dir, "evidence.zip");
    writeFileSync(archive, whole);

    // Python's zipfile reads it and checks every member's CRC; ffprobe decodes each camera's video.
    const { stdout } = await run("/usr/bin/python3", [
      "-c",
      "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(z.testzip())\nz.extractall(sys.argv[2])\nprint(len(z.namelist()))",
      archive,
      join(dir, "out"),
    ]);
    expect(stdout.split("\n")[0]).toBe("None");
    for (const camera of ["yard", "gate"]) {
      const probe = await run("ffprobe", [
        "-v",
        "error",
        "-count_frames",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=codec_name,nb_read_frames",
        "-of",
        "csv=p=0",
        join(dir, "out", "cameras", `${camera}.mp4`),
      ]);
      const [codec, frames] = probe.stdout.trim().split(",");
      expect(codec).toBe("h264");
      expect(Number(frames)).toBeGreaterThan(10);
    }
    const events = JSON.parse(readFileSync(join(dir, "out", "events.json"), "utf8")) as {
      incident: string;
    }[];
    expect(events.some((e) => e.incident === incident.id)).toBe(true);

    const good = await verify(archive, "--fingerprint", key.fingerprint);
    expect(good.out).toContain("verified: yard, gate");
    expect(good.code).toBe(0);

    // One byte of a video changed: that file fails, and so does the archive.
    // Its local header: the name right after the 30 fixed bytes that start with the header's signature.
    const name = Buffer.from("cameras/gate.mp4");
    let index = whole.indexOf(name);
    while (index >= 0 && !(index >= 30 && whole.readUInt32LE(index - 30) === 0x04034b50))
      index = whole.indexOf(name, index + 1);
    expect(index).toBeGreaterThan(0);
    const tampered = Buffer.from(whole);
    const dataAt = index + "cameras/gate.mp4".length + 1000;
    tampered[dataAt] = (tampered[dataAt] as number) ^ 0xff;
    writeFileSync(archive, tampered);
    const bad = await verify(archive);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FAIL {2}cameras\/gate\.mp4: its SHA-256 is not the manifest's/);
    expect(bad.out).toContain("NOT verified");

    // The manifest changed (a later time written in): its signature no longer verifies.
    const forged = Buffer.from(whole);
    const rangeAt = forged.indexOf(Buffer.from(manifest.range.from));
    forged[rangeAt + 3] = forged[rangeAt + 3] === 0x39 ? 0x38 : 0x39;
    writeFileSync(archive, forged);
    const unsigned = await verify(archive);
    expect(unsigned.code).toBe(1);
    expect(unsigned.out).toMatch(
      /FAIL {2}(the manifest's signature does not verify|manifest\.json: its CRC does not match)/,
    );

    // Signed by this camgate, but the owner expects another key.
    writeFileSync(archive, whole);
    const otherKey = await verify(archive, "--fingerprint", `sha256:${"0".repeat(64)}`);
    expect(otherKey.code).toBe(1);
    expect(otherKey.out).toContain("not the expected");
  }, 120_000);

  it("refuses a window longer than a day, a camera camgate does not have, and a job that is not there", async () => {
    const long = await api("/api/v1/evidence", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cameras: ["yard"], from: "2026-01-01T00:00:00Z", to: "2026-01-03T00:00:00Z" }),
    });
    expect(long.status).toBe(400);
    const unknown = await api("/api/v1/evidence", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        cameras: ["nowhere"],
        from: "2026-01-01T00:00:00Z",
        to: "2026-01-01T01:00:00Z",
      }),
    });
    expect(unknown.status).toBe(404);
    expect((await api("/api/v1/evidence/AAAAAAAAAAAAAAAA")).status).toBe(404);
  });
});
