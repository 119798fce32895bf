/** The error catalogue: documented, mapped by the one handler, and 5xx logged once with the request id. */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CameraError, type CameraErrorCode } from "../../src/camera/errors.ts";
import { ApiProblem, PROBLEMS, type ProblemCode, toProblem } from "../../src/server/errors.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const call = async (url: string, method = "GET", body?: unknown) => {
  const response = await fetch(url, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }
      : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    requestId: response.headers.get("x-request-id"),
    body: /json/.test(response.headers.get("content-type") ?? "") ? JSON.parse(text) : text,
  };
};

/** The rows of docs/api-errors.md's table: code, status, title. */
function documentedProblems(): { code: string; status: number; title: string }[] {
  const doc = readFileSync(new URL("../../docs/api-errors.md", import.meta.url), "utf8");
  return doc
    .split("\n")
    .filter((line) => /^\|\s*`[a-z-]+`\s*\|/.test(line))
    .map((line) => {
      const [code, status, title] = line
        .split("|")
        .slice(1, 4)
        .map((cell) => cell.trim());
      return { code: (code as string).replace(/`/g, ""), status: Number(status), title: title as string };
    });
}

describe("the problem catalogue", () => {
  it("is the documented table: every code with its status and title, and the handler maps each", () => {
    const rows = documentedProblems();
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(PROBLEMS).sort());
    for (const row of rows) {
      const entry = PROBLEMS[row.code as ProblemCode];
      expect(entry, row.code).toEqual({ status: row.status, title: row.title });
      const mapped = toProblem(new ApiProblem(row.code as ProblemCode, "x"));
      expect(mapped.problem).toMatchObject({ code: row.code, status: row.status, title: row.title });
    }
  });

  it("maps every camera error code to the problem of the same name", () => {
    const codes: CameraErrorCode[] = [
      "unreachable",
      "timeout",
      "auth-failed",
      "busy",
      "unsupported",
      "rejected",
      "forbidden",
      "bad-response",
      "invalid-argument",
    ];
    for (const code of codes) {
      const { problem } = toProblem(new CameraError(code, "dogs", "why"));
      expect(problem).toMatchObject({ code, status: PROBLEMS[code].status, camera: "dogs" });
    }
    expect(toProblem(new RangeError("a bug")).problem.code).toBe("internal");
  });
});

describe("errors at the server edge", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b" },
        { id: "gone", profile: "amcrest-ipm-723w" },
      ],
    });
  });
  afterAll(async () => {
    await gw?.close();
  });
  const control = (id = "dogs") => {
    const camera = gw.cameras.get(id);
    if (!camera) throw new Error("no camera");
    return camera.control;
  };
  /** Log lines of one request (pino JSON lines carrying its reqId). */
  const linesOf = (requestId: string | null) =>
    gw
      .logs()
      .split("\n")
      .filter((line) => line.includes(`"reqId":"${requestId}"`))
      .map((line) => JSON.parse(line) as { level: number; msg: string; camera?: string; code?: string });

  it("answers a value the camera cannot take with 400 invalid-argument, and sends the camera nothing", async () => {
    const before = control().counters().requests;
    for (const value of ["a&b", "line\r\nbreak", "nul\u0000"]) {
      const answer = await call(`${gw.url}/api/v1/cameras/dogs/config/General`, "PATCH", {
        MachineName: value,
      });
      expect(answer.status, JSON.stringify(value)).toBe(400);
      expect(answer.body).toMatchObject({ code: "invalid-argument", camera: "dogs" });
    }
    expect(control().counters().requests).toBe(before);
  });

  it("stops a zoom through REST (the emulator stops zooming) and refuses impossible PTZ combinations", async () => {
    const ptz = (body: unknown) => call(`${gw.url}/api/v1/cameras/dogs/ptz`, "POST", body);
    expect((await ptz({ action: "zoom", direction: "in" })).status).toBe(200);
    expect(control().ptzMotion().zooming).toBe(true);
    expect((await ptz({ action: "stop", direction: "in" })).status).toBe(200);
    expect(control().ptzMotion()).toEqual({ panning: false, zooming: false });
    const before = control().counters().requests;
    for (const body of [
      { action: "move", direction: "in" },
      { action: "zoom", direction: "left" },
      { action: "stop", speed: 4 },
      { action: "gotoPreset", preset: 1, direction: "up" },
    ]) {
      const answer = await ptz(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.code).toBe("invalid-ptz-command");
    }
    expect(control().counters().requests).toBe(before);
  });

  it("logs a 5xx from the camera exactly once, with the request id and the camera", async () => {
    await control("gone").stopListening();
    const answer = await call(`${gw.url}/api/v1/cameras/gone/time`);
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ code: "unreachable", camera: "gone" });
    expect(answer.requestId).toMatch(/\S/);
    const lines = linesOf(answer.requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, camera: "gone", code: "unreachable" });
    // A 4xx is the client's business: no line.
    const missing = await call(`${gw.url}/api/v1/cameras/nothing/time`);
    expect(missing.status).toBe(404);
    expect(linesOf(missing.requestId)).toEqual([]);
  });

  it("logs camgate's own failure (500) exactly once at error, and tells the client only the request id", async () => {
    // The store broken under camgate (either engine): reading events fails inside camgate.
    await gw.camgate.events.store.sql.run("DROP TABLE events");
    const answer = await call(`${gw.url}/api/v1/events`);
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({ code: "internal", detail: "see the server log" });
    const lines = linesOf(answer.requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, code: "internal" });
  });
});
