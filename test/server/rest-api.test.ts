/** The REST API over the camera API, against emulated cameras, with no users (loopback, anonymous admin). */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { type OpenStream, openStream } from "../helpers/stream.ts";

async function call(url: string, method = "GET", body?: unknown) {
  const response = await fetch(url, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }
      : {}),
  });
  const type = response.headers.get("content-type") ?? "";
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field by the assertions.
  const data: any = type.includes("json") ? await response.json() : Buffer.from(await response.arrayBuffer());
  return { status: response.status, type, headers: response.headers, data };
}

describe("REST API", () => {
  let gw: TestGateway;
  const streams: OpenStream[] = [];
  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b", emulator: { rebootDurationMs: 300 } },
        { id: "front", profile: "amcrest-ipm-723w" },
      ],
    });
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await gw?.close();
  });
  const control = (id = "dogs") => {
    const control = gw.cameras.get(id)?.control;
    if (!control) throw new Error("no camera");
    return control;
  };

  it("lists cameras with health and budget, and shows one with its device info", async () => {
    const list = await call(`${gw.url}/api/v1/cameras`);
    expect(list.data.cameras.map((c: { id: string }) => c.id)).toEqual(["dogs", "front"]);
    expect(list.data.cameras[0]).toMatchObject({
      budget: { max: 4, inUse: 0 },
      links: { snapshot: "/api/v1/cameras/dogs/snapshot.jpg" },
    });
    const one = await call(`${gw.url}/api/v1/cameras/dogs`);
    expect(one.data.device).toMatchObject({
      type: "IP2M-841B",
      softwareVersion: "2.520.AC00.18.R",
      build: "2017-06-29",
      vendor: "Amcrest",
    });
    expect(one.data.health.state).toBe("online");
    expect((await call(`${gw.url}/api/v1/cameras/nothing`)).status).toBe(404);
  });

  it("serves snapshots as JPEG of the camera's size", async () => {
    const snapshot = await call(`${gw.url}/api/v1/cameras/front/snapshot.jpg`);
    expect(snapshot.type).toBe("image/jpeg");
    const meta = await sharp(snapshot.data as Buffer).metadata();
    expect([meta.width, meta.height]).toEqual([1280, 960]);
  });

  it("streams MJPEG", async () => {
    const stream = await openStream(gw.url, "/api/v1/cameras/dogs/stream.mjpeg", undefined);
    streams.push(stream);
    expect(stream.response.headers["content-type"]).toBe("multipart/x-mixed-replace; boundary=myboundary");
    await stream.waitUntil((b) => b.includes(Buffer.from([0xff, 0xd9])), 10_000, "a whole JPEG");
    stream.close();
  });

  it("moves PTZ with a duration, stops, zooms and keeps presets", async () => {
    const before = control().ptzPosition();
    const move = await call(`${gw.url}/api/v1/cameras/dogs/ptz`, "POST", {
      action: "move",
      direction: "left",
      speed: 8,
      durationMs: 300,
    });
    expect(move.status).toBe(200);
    expect(move.data.stopsAt).toEqual(expect.any(String));
    await waitFor(
      async () => {
        const status = await call(`${gw.url}/api/v1/cameras/dogs/ptz`);
        return status.data.status.moving === false && status.data.status.position.pan !== before.pan
          ? status
          : undefined;
      },
      5000,
      "the move to end by itself",
    );
    expect(
      (await call(`${gw.url}/api/v1/cameras/dogs/ptz`, "POST", { action: "zoom", direction: "in" })).status,
    ).toBe(200);
    expect(control().ptzMotion().zooming).toBe(true);
    expect((await call(`${gw.url}/api/v1/cameras/dogs/ptz`, "POST", { action: "stop" })).status).toBe(200);
    expect(control().ptzMotion()).toEqual({ panning: false, zooming: false });
    expect(
      (
        await call(`${gw.url}/api/v1/cameras/dogs/ptz`, "POST", {
          action: "setPreset",
          preset: 2,
          name: "door",
        })
      ).status,
    ).toBe(200);
    expect(
      (await call(`${gw.url}/api/v1/cameras/dogs/ptz`, "POST", { action: "gotoPreset", preset: 2 })).status,
    ).toBe(200);
    const status = await call(`${gw.url}/api/v1/cameras/dogs/ptz`);
    expect(status.data.presets).toEqual([{ index: 2, name: "door" }]);
    expect(status.data.status.presetId).toBe(2);
  });

  it("answers PTZ on a fixed camera with 501 unsupported, and bad commands with 400", async () => {
    const fixed = await call(`${gw.url}/api/v1/cameras/front/ptz`, "POST", {
      action: "move",
      direction: "up",
    });
    expect(fixed.status).toBe(501);
    expect(fixed.data).toMatchObject({ code: "unsupported", camera: "front" });
    expect((await call(`${gw.url}/api/v1/cameras/dogs/ptz`, "POST", { action: "fly" })).data.code).toBe(
      "bad-request",
    );
    const noPreset = await call(`${gw.url}/api/v1/cameras/dogs/ptz`, "POST", { action: "gotoPreset" });
    expect([noPreset.status, noPreset.data.code]).toEqual([400, "invalid-ptz-command"]);
  });

  it("reads config as JSON and PATCHes it, answering with exactly what changed", async () => {
    const ntp = await call(`${gw.url}/api/v1/cameras/dogs/config/NTP`);
    expect(ntp.data).toMatchObject({ name: "NTP", value: { Enable: false, Port: 123 } });
    const patch = await call(`${gw.url}/api/v1/cameras/dogs/config/NTP`, "PATCH", {
      Enable: true,
      Port: 123,
      Address: "pool ntp org",
    });
    expect(patch.status).toBe(200);
    expect(patch.data.changed).toEqual([
      { path: "NTP.Enable", old: "false", new: "true" },
      { path: "NTP.Address", old: "clock.isc.org", new: "pool ntp org" },
    ]);
    expect(control().config("NTP.Address")).toBe("pool ntp org");
    const unknown = await call(`${gw.url}/api/v1/cameras/dogs/config/NTP`, "PATCH", { Nope: 1 });
    expect([unknown.status, unknown.data.code]).toEqual([422, "unknown-config-path"]);
    const missing = await call(`${gw.url}/api/v1/cameras/dogs/config/Lighting_V2`);
    expect(missing.status).toBe(501);
  });

  it("reads the time and the camera's log", async () => {
    expect((await call(`${gw.url}/api/v1/cameras/dogs/time`)).data.time).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
    );
    const logs = await call(
      `${gw.url}/api/v1/cameras/dogs/logs?from=2000-01-01%2000:00:00&to=2100-01-01%2000:00:00&limit=5`,
    );
    expect(logs.data.items.length).toBeGreaterThan(0);
    expect(logs.data.items[0]).toMatchObject({ type: "Login", user: "admin" });
    expect((await call(`${gw.url}/api/v1/cameras/dogs/logs?from=yesterday`)).status).toBe(400);
  });

  it("reboots the camera (202) and the session goes offline and back online", async () => {
    const reboot = await call(`${gw.url}/api/v1/cameras/dogs/reboot`, "POST");
    expect(reboot.status).toBe(202);
    await control().camera.whenUp();
    expect(control().camera.reboots).toBe(1);
    const after = await call(`${gw.url}/api/v1/cameras/dogs/time`);
    expect(after.status).toBe(200);
  });

  it("exposes /healthz and Prometheus metrics", async () => {
    const health = await call(`${gw.url}/healthz`);
    expect(health.data.status).toBe("ok");
    const metrics = await fetch(`${gw.url}/metrics`);
    const text = await metrics.text();
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    expect(text).toMatch(/camgate_camera_calls_total\{camera="dogs",outcome="ok"\} \d+/);
    expect(text).toMatch(/camgate_camera_call_seconds_bucket\{le="0.1",camera="dogs"\} \d+/);
    expect(text).toMatch(/camgate_budget_in_use\{camera="front"\} 0/);
    expect(text).toMatch(/camgate_upstream_requests_total\{camera="dogs"\} \d+/);
    expect(text).toContain("camgate_auth_failures_total");
  });

  it("publishes an OpenAPI 3.1 document covering every route", async () => {
    const doc = (await call(`${gw.url}/api/v1/openapi.json`)).data;
    expect(doc.openapi).toBe("3.1.0");
    for (const [path, method] of [
      ["/api/v1/cameras", "get"],
      ["/api/v1/cameras/{id}", "get"],
      ["/api/v1/cameras/{id}/snapshot.jpg", "get"],
      ["/api/v1/cameras/{id}/stream.mjpeg", "get"],
      ["/api/v1/cameras/{id}/ptz", "post"],
      ["/api/v1/cameras/{id}/config/{name}", "patch"],
      ["/api/v1/cameras/{id}/time", "get"],
      ["/api/v1/cameras/{id}/reboot", "post"],
      ["/api/v1/cameras/{id}/logs", "get"],
      ["/api/v1/signed-urls", "post"],
      ["/healthz", "get"],
    ]) {
      expect(doc.paths[path as string]?.[method as string], `${method} ${path}`).toBeDefined();
    }
    expect(doc.paths["/api/v1/cameras/{id}/ptz"].post["x-camgate-role"]).toBe("operator");
    expect(
      doc.paths["/api/v1/cameras/{id}/ptz"].post.requestBody.content["application/json"].schema.properties
        .action.enum,
    ).toContain("gotoPreset");
  });

  it("answers unknown routes with a 404 problem", async () => {
    const response = await call(`${gw.url}/api/v1/nothing`);
    expect(response.status).toBe(404);
    expect(response.type).toContain("application/problem+json");
  });
});
