/** What a reload applies live and what waits for a restart. */
import { describe, expect, it } from "vitest";
import { planIsEmpty, planReload } from "../../src/config/reload-plan.ts";
import { configSchema } from "../../src/config/schema.ts";

const camera = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  url: `http://192.168.0.${id.length + 10}`,
  username: "admin",
  password: "pw",
  ...extra,
});
const config = (cameras: unknown[], extra: Record<string, unknown> = {}) =>
  configSchema.parse({ cameras, ...extra });

describe("planReload", () => {
  it("sorts camera changes into added, removed, renamed, new credentials and re-created", () => {
    const before = config([camera("a"), camera("bb"), camera("ccc"), camera("dddd")]);
    const after = config([
      camera("a", { name: "Front door" }),
      camera("bb", { password: "new" }),
      camera("ccc", { maxConnections: 2 }),
      camera("eeeee"),
    ]);
    const plan = planReload(before, after);
    expect(plan.renamed.map((c) => c.id)).toEqual(["a"]);
    expect(plan.credentials.map((c) => c.id)).toEqual(["bb"]);
    expect(plan.reconfigured.map((c) => c.id)).toEqual(["ccc"]);
    expect(plan.added.map((c) => c.id)).toEqual(["eeeee"]);
    expect(plan.removed).toEqual(["dddd"]);
    expect(plan.needsRestart).toEqual([]);
    expect(planIsEmpty(plan)).toBe(false);
  });

  it("takes a change of the wall's groups as display only: relabelled, never re-created", () => {
    const before = config([camera("a"), camera("bb", { groups: ["Outside"] }), camera("ccc")]);
    const after = config([
      camera("a", { groups: ["Outside", "Doors"] }),
      camera("bb"),
      camera("ccc", { groups: ["Inside"], password: "new" }),
    ]);
    const plan = planReload(before, after);
    expect(plan.renamed.map((c) => c.id)).toEqual(["a", "bb", "ccc"]);
    expect(plan.credentials.map((c) => c.id)).toEqual(["ccc"]);
    expect(plan.reconfigured).toEqual([]);
  });

  it("reports sections wired at start, and a camera's own RTSP port, as needing a restart", () => {
    const before = config([camera("a")]);
    const after = config([camera("a", { rtspPassthroughPort: 8555 })], {
      server: { listen: "127.0.0.1:9090" },
      relay: { lingerMs: 0 },
    });
    const plan = planReload(before, after);
    expect(plan.needsRestart).toEqual(["server", "relay", "cameras.a.rtspPassthroughPort"]);
    expect(plan.reconfigured.map((c) => c.id)).toEqual(["a"]);
  });

  it("changes nothing for the same config, and sees a change of users", () => {
    const same = planReload(config([camera("a")]), config([camera("a")]));
    expect(planIsEmpty(same)).toBe(true);
    const users = planReload(
      config([camera("a")]),
      config([camera("a")], { users: [{ name: "alice", role: "admin", token: "t0ken" }] }),
    );
    expect(users.usersChanged).toBe(true);
    expect(planIsEmpty(users)).toBe(false);
  });
});
