/** One validation for `camgate config check` and `camgate serve`: what one refuses, the other refuses too. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { startupProblems } from "../../src/app.ts";
import { ConfigError, parseConfig } from "../../src/config/load.ts";
import { configSchema } from "../../src/config/schema.ts";
import { effectiveRtspAuthMethods } from "../../src/config/validate.ts";

function check(text: string): string[] {
  try {
    parseConfig(text, { env: {}, source: "camgate.yaml" });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

const camera = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  url: "http://192.168.0.60",
  username: "admin",
  password: "pw",
  ...extra,
});

/** A triangle zone with `corner` as its second corner. */
const zone = (name: string, corner: [number, number]) => ({ name, points: [[0, 0], corner, [1, 1]] });

describe("config check", () => {
  it.each([
    ["0.0.0.0 without users", { server: { listen: "0.0.0.0:8080" } }, /server\.listen: refusing to listen/],
    [
      "Basic passwords on 0.0.0.0 without TLS",
      { server: { listen: "0.0.0.0:8080" }, users: [{ name: "a", role: "admin", password: "p" }] },
      /without TLS/,
    ],
    [
      "RTSP on 0.0.0.0 without users",
      { server: { rtsp: { listen: "0.0.0.0:8554" } } },
      /server\.rtsp\.listen: refusing RTSP on 0\.0\.0\.0:8554 without users/,
    ],
    [
      "RTSP Basic alone on 0.0.0.0 without TLS",
      {
        server: { rtsp: { listen: "0.0.0.0:8554", authMethods: ["basic"] } },
        users: [{ name: "a", role: "viewer", password: "p" }],
      },
      /server\.rtsp\.authMethods: refusing Basic as the only RTSP authentication/,
    ],
    ["port 99999", { server: { listen: "127.0.0.1:99999" } }, /server\.listen: must be host:port/],
    [
      "a CGI passthrough for an ONVIF camera",
      { cameras: [camera("dogs", { protocol: "onvif", passthroughPort: 8081 })] },
      /cameras\[0\]\.passthroughPort: serves Dahua's own URLs/,
    ],
    [
      "an RTSP passthrough for an ONVIF camera",
      {
        server: { rtsp: { listen: "127.0.0.1:8554" } },
        cameras: [camera("dogs", { protocol: "onvif", rtspPassthroughPort: 8555 })],
      },
      /cameras\[0\]\.rtspPassthroughPort: serves Dahua's own URLs/,
    ],
    [
      "motion from MJPEG on an ONVIF camera",
      { cameras: [camera("dogs", { protocol: "onvif", motion: {} })] },
      /cameras\[0\]\.motion\.frames: an ONVIF camera has no MJPEG stream here: use frames: snapshots/,
    ],
    [
      "motion confirming a camera whose events are off",
      { cameras: [camera("dogs", { motion: { use: "confirm" }, events: { enabled: false } })] },
      /cameras\[0\]\.motion\.use: confirm needs the camera's event stream/,
    ],
    [
      "two motion zones of one name",
      { cameras: [camera("dogs", { motion: { zones: [zone("Drive", [1, 0]), zone("Drive", [0, 1])] } })] },
      /cameras\[0\]\.motion\.zones\[1\]\.name: a second zone named "Drive"/,
    ],
    [
      "a motion zone's corner outside the picture",
      { cameras: [camera("dogs", { motion: { zones: [zone("Drive", [1.5, 0])] } })] },
      /cameras\[0\]\.motion\.zones\[0\]\.points\[1\]\[0\]/,
    ],
    [
      "an unknown protocol",
      { cameras: [camera("dogs", { protocol: "hikvision" })] },
      /cameras\[0\]\.protocol/,
    ],
    [
      "a passthrough port equal to the listen port",
      { server: { listen: "127.0.0.1:8080" }, cameras: [camera("dogs", { passthroughPort: 8080 })] },
      /cameras\[0\]\.passthroughPort: port 8080 is already server\.listen/,
    ],
    [
      "two users with one token",
      {
        users: [
          { name: "a", role: "admin", token: "same" },
          { name: "b", role: "viewer", token: "same" },
        ],
      },
      /users\[1\]\.token: the same token as user "a"/,
    ],
    [
      "a webhook for a camera that does not exist",
      {
        cameras: [camera("dogs")],
        webhooks: [{ url: "http://127.0.0.1:9/x", secret: "s", cameras: ["gate"] }],
      },
      /webhooks\[0\]\.cameras: no camera "gate"/,
    ],
    [
      "a host name in trustedProxies",
      { server: { trustedProxies: ["proxy.lan"] } },
      /trustedProxies\[0\]: must be an IP/,
    ],
    ["a prefix too long", { server: { trustedProxies: ["10.0.0.0/33"] } }, /trustedProxies\[0\]/],
    [
      "credentials in a camera URL",
      { cameras: [camera("dogs", { url: "http://admin:secret@192.168.0.60" })] },
      /cameras\[0\]\.url: must not carry credentials/,
    ],
  ])("refuses %s, with the line and the field, as serve does", (_what, config, message) => {
    const problems = check(stringify(config));
    expect(problems.join("\n")).toMatch(message);
    expect(problems.every((p) => /^camgate\.yaml:\d+: /.test(p))).toBe(true);
    const parsed = configSchema.safeParse(config);
    // Either the schema refuses it (serve loads through the same schema), or serve's own check does.
    if (parsed.success) expect(startupProblems(parsed.data).join("\n")).toMatch(message);
  });

  it("offers RTSP Basic only on loopback, over RTSPS, or when insisted on", () => {
    const methods = (server: Record<string, unknown>) =>
      effectiveRtspAuthMethods(
        configSchema.parse({ server, users: [{ name: "a", role: "viewer", password: "p" }] }),
      );
    expect(methods({ rtsp: {} })).toEqual(["basic", "digest"]);
    expect(methods({ rtsp: { listen: "0.0.0.0:8554" } })).toEqual(["digest"]);
    expect(methods({ rtsp: { listen: "0.0.0.0:8554" }, allowInsecure: true })).toEqual(["basic", "digest"]);
  });

  it("accepts CIDR ranges and addresses in trustedProxies, and a metrics token", () => {
    expect(
      check(
        stringify({
          server: { trustedProxies: ["10.0.0.0/8", "192.168.0.1", "fd00::/8"], metricsToken: "m" },
        }),
      ),
    ).toEqual([]);
  });

  it("check and serve agree on every generated config (property)", () => {
    const config = fc.record(
      {
        server: fc.record(
          {
            listen: fc.constantFrom(
              "127.0.0.1:8080",
              "0.0.0.0:8080",
              "[::1]:9000",
              "127.0.0.1:99999",
              "8081",
            ),
            allowInsecure: fc.boolean(),
            trustedProxies: fc.array(fc.constantFrom("10.0.0.0/8", "127.0.0.1", "proxy", "::1/129"), {
              maxLength: 2,
            }),
          },
          { requiredKeys: [] },
        ),
        users: fc.array(
          fc.record(
            {
              name: fc.constantFrom("a", "b"),
              role: fc.constantFrom("admin", "viewer"),
              token: fc.constantFrom("t1", "t2"),
              password: fc.constantFrom("p1"),
              cameras: fc.constantFrom(["*"], ["dogs"], ["gate"]),
            },
            { requiredKeys: ["name", "role"] },
          ),
          { maxLength: 3 },
        ),
        cameras: fc.array(
          fc.record(
            {
              id: fc.constantFrom("dogs", "front"),
              url: fc.constantFrom("http://192.168.0.60", "http://u:p@10.0.0.2"),
              username: fc.constant("admin"),
              password: fc.constant("pw"),
              passthroughPort: fc.constantFrom(8080, 8081, 9000),
            },
            { requiredKeys: ["id", "url", "username", "password"] },
          ),
          { maxLength: 3 },
        ),
        webhooks: fc.array(
          fc.record({
            url: fc.constant("http://127.0.0.1:9/x"),
            secret: fc.constant("s"),
            cameras: fc.constantFrom(["*"], ["gate"]),
          }),
          { maxLength: 1 },
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(config, (value) => {
        const checkOk = check(stringify(value)).length === 0;
        const parsed = configSchema.safeParse(value);
        const serveOk = parsed.success && startupProblems(parsed.data).length === 0;
        expect(checkOk).toBe(serveOk);
      }),
      { numRuns: 500 },
    );
  });
});
