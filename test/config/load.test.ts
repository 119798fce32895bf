/** camgate.yaml: substitution, validation with line and field path, startup safety. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startCamgate } from "../../src/app.ts";
import { ConfigError, parseConfig } from "../../src/config/load.ts";
import { configSchema } from "../../src/config/schema.ts";
import { validateConfig } from "../../src/config/validate.ts";

const refusals = (config: Parameters<typeof validateConfig>[0]) =>
  validateConfig(config).map((i) => i.message);

const VALID = `server:
  listen: "127.0.0.1:8080"
storage: { dir: ./data }
users:
  - { name: alice, role: admin, token: "\${ALICE_TOKEN}", cameras: ["*"] }
  - { name: sitter, role: viewer, password: "\${file:sitter.txt}", cameras: [dogs] }
cameras:
  - id: dogs
    name: Dog crates
    url: http://192.168.0.60
    username: admin
    password: "\${DOGS_PASSWORD}"
    maxConnections: 4
    passthroughPort: 8081
    mjpeg: { channel: 1, subtype: 1 }
`;

function problems(text: string, env: Record<string, string> = {}, baseDir?: string): string[] {
  try {
    parseConfig(text, { env, source: "camgate.yaml", ...(baseDir ? { baseDir } : {}) });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("config loading", () => {
  it("substitutes ${ENV} and ${file:...} and applies defaults", () => {
    const dir = mkdtempSync(join(tmpdir(), "camgate-config-"));
    try {
      writeFileSync(join(dir, "sitter.txt"), "from-a-file\n");
      const config = parseConfig(VALID, { env: { ALICE_TOKEN: "tok", DOGS_PASSWORD: "pw" }, baseDir: dir });
      expect(config.users[0]?.token).toBe("tok");
      expect(config.users[1]?.password).toBe("from-a-file");
      expect(config.cameras[0]).toMatchObject({
        password: "pw",
        maxConnections: 4,
        queueTimeoutMs: 10_000,
        passthroughPort: 8081,
      });
      expect(config.server).toMatchObject({
        allowInsecure: false,
        trustedProxies: [],
        authRateLimit: { failures: 10, windowSeconds: 60 },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the line and the field of a missing variable or file", () => {
    const found = problems(VALID, { ALICE_TOKEN: "tok" }, "/nonexistent-dir");
    expect(found).toContain(
      "camgate.yaml:12: cameras[0].password: environment variable DOGS_PASSWORD is not set",
    );
    expect(
      found.some((p) =>
        p.startsWith("camgate.yaml:6: users[1].password: cannot read /nonexistent-dir/sitter.txt"),
      ),
    ).toBe(true);
  });

  it("names the line and the field of invalid values and unknown keys", () => {
    const text = `cameras:
  - id: Dogs!
    url: ftp://camera
    username: admin
    password: x
    maxConection: 4
users:
  - { name: bob, role: superuser, token: t }
`;
    const found = problems(text);
    expect(found).toContain("camgate.yaml:2: cameras[0].id: lower-case letters, digits, _ and - (up to 32)");
    expect(found.some((p) => p.startsWith("camgate.yaml:3: cameras[0].url:"))).toBe(true);
    // The unknown key's own line, and the key it is probably a typo of (issue 33).
    expect(found).toContain(
      'camgate.yaml:6: cameras[0].maxConection: unknown key; did you mean "maxConnections"?',
    );
    expect(found.some((p) => p.startsWith("camgate.yaml:8: users[0].role:"))).toBe(true);
  });

  it("reports YAML syntax errors with their line, and inconsistent references", () => {
    expect(problems("server:\n  listen: [unclosed\n")[0]).toMatch(/^camgate\.yaml:\d+: /);
    const found = problems(`users:
  - { name: a, role: viewer, token: t, cameras: [nope] }
cameras:
  - { id: x, url: "http://10.0.0.1", username: u, password: p }
  - { id: x, url: "http://10.0.0.2", username: u, password: p }
`);
    expect(found).toContain('camgate.yaml:5: cameras[1].id: "x" is used twice');
    expect(found).toContain('camgate.yaml:2: users[0].cameras: no camera "nope"');
  });

  it("refuses users without any credential", () => {
    expect(problems("users:\n  - { name: a, role: viewer }\n")[0]).toContain(
      "users[0]: a user needs a token, a password or a clientCertSubject",
    );
  });
});

describe("secure by default", () => {
  const base = { cameras: [], storage: { dir: "./data" } };

  it("refuses a non-loopback listen without users, before binding anything", async () => {
    const config = configSchema.parse({ ...base, server: { listen: "0.0.0.0:0" } });
    expect(refusals(config)).toEqual([
      expect.stringMatching(/refusing to listen on 0\.0\.0\.0:0 without users/),
    ]);
    await expect(startCamgate(config)).rejects.toThrow(/refusing to listen on 0\.0\.0\.0:0 without users/);
  });

  it("refuses Basic (passwords) on a non-loopback listen without TLS; tokens alone are allowed", () => {
    const withPassword = configSchema.parse({
      ...base,
      server: { listen: "0.0.0.0:8080" },
      users: [{ name: "a", role: "admin", password: "p" }],
    });
    expect(refusals(withPassword)).toEqual([expect.stringMatching(/without TLS/)]);
    const withToken = configSchema.parse({
      ...base,
      server: { listen: "0.0.0.0:8080" },
      users: [{ name: "a", role: "admin", token: "t" }],
    });
    expect(refusals(withToken)).toEqual([]);
  });

  it("allows it when allowInsecure is written out, and always on loopback", () => {
    expect(
      refusals(configSchema.parse({ ...base, server: { listen: "0.0.0.0:8080", allowInsecure: true } })),
    ).toEqual([]);
    expect(refusals(configSchema.parse({ ...base, server: { listen: "127.0.0.1:8080" } }))).toEqual([]);
    expect(refusals(configSchema.parse({ ...base, server: { listen: "[::1]:8080" } }))).toEqual([]);
  });
});
