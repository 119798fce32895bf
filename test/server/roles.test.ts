/**
 * The passthrough's role decision against what a camera would execute: whatever the query (order,
 * repetition, case, percent-encoding), the role camgate demands is never lower than the role of the action
 * the camera acts on, whether the firmware keeps the first or the last occurrence of a key.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDeviceQuery } from "../../src/emulator/cgi-request.ts";
import { decodeDeviceQuery } from "../../src/protocol/cgi.ts";
import { judgeCgiRequest, type Role, requiredRole, roleAllows } from "../../src/server/auth/roles.ts";

const CGIS = ["magicBox.cgi", "configManager.cgi", "ptz.cgi", "global.cgi", "eventManager.cgi", "log.cgi"];
const KEYS = ["action", "Action", "ACTION", " action", "name", "Name", "code", "channel", "arg1"];
const VALUES = [
  "getDeviceType",
  "reboot",
  "getConfig",
  "setConfig",
  "getStatus",
  "start",
  "attach",
  "General",
  "Email",
  "Email.Password",
  "General,Email",
  " Email",
  "Left",
  "1",
];

/** Percent-encodes some characters of `text` (the firmware decodes before it splits). */
const encoded = (text: string) =>
  fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((flags) =>
      [...text]
        .map((ch, i) => (flags[i] ? `%${ch.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}` : ch))
        .join(""),
    );

const pair = fc
  .tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES))
  .chain(([key, value]) => fc.tuple(encoded(key), encoded(value)))
  .map(([key, value]) => `${key}=${value}`);

/**
 * What a camera executes: its own parser (the emulator's), keeping the first or the last occurrence of a
 * key, and reading keys exactly or case-insensitively and trimmed (no capture says which firmware does).
 */
function cameraRole(cgi: string, rawQuery: string, keep: "first" | "last", fold: boolean): Role {
  const params = new Map<string, string>();
  for (const [key, value] of parseDeviceQuery(rawQuery)) {
    const name = fold ? key.trim().toLowerCase() : key;
    if (keep === "last" || !params.has(name)) params.set(name, value);
  }
  return requiredRole(cgi, params);
}

describe("the passthrough role decision", () => {
  it("never demands less than the camera will do, for any order, repetition, case or encoding (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...CGIS), fc.array(pair, { minLength: 0, maxLength: 5 }), (cgi, pairs) => {
        const raw = pairs.join("&");
        const judgement = judgeCgiRequest(cgi, decodeDeviceQuery(raw));
        if (!judgement.ok) return;
        for (const keep of ["first", "last"] as const)
          for (const fold of [false, true])
            expect(
              roleAllows(judgement.role, cameraRole(cgi, raw, keep, fold)),
              `${cgi}?${raw} (${keep}, fold ${fold})`,
            ).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses a repeated key in either order, and in another case", () => {
    for (const query of [
      "action=getDeviceType&action=reboot",
      "action=reboot&action=getDeviceType",
      "action=getDeviceType&Action=reboot",
      "action=getConfig&name=General&name=Email.Password",
      "action=getStatus&action=start&code=Left",
      "%61ction=getDeviceType&action=reboot",
    ]) {
      expect(judgeCgiRequest("magicBox.cgi", decodeDeviceQuery(query)).ok, query).toBe(false);
    }
    const read = judgeCgiRequest("magicBox.cgi", decodeDeviceQuery("action=getDeviceType"));
    expect(read).toMatchObject({ ok: true, role: "viewer" });
  });

  it("judges a config name list by its most secret name", () => {
    const role = (name: string) =>
      requiredRole(
        "configManager.cgi",
        new Map([
          ["action", "getConfig"],
          ["name", name],
        ]),
      );
    expect(role("General")).toBe("viewer");
    expect(role("General,Email")).toBe("admin");
    expect(role(" Email")).toBe("admin");
    expect(role("")).toBe("admin");
  });

  it("decodes a malformed escape as the camera does, without throwing", () => {
    expect(decodeDeviceQuery("action=get%ZZ&name=%E2%82%AC%")).toEqual([
      ["action", "get%ZZ"],
      ["name", "€%"],
    ]);
    fc.assert(
      fc.property(fc.string(), (raw) => {
        expect(decodeDeviceQuery(raw)).toEqual(parseDeviceQuery(raw));
      }),
    );
  });

  it("lets a viewer fetch recordings with RPC_Loadfile, and nothing else the camera stores", () => {
    const none = new Map<string, string>();
    expect(
      requiredRole("RPC_Loadfile//mnt/sd/2026-12-02/001/dav/07/07.05.00-07.05.03[M][0@0][0].dav", none),
    ).toBe("viewer");
    expect(
      requiredRole("RPC_Loadfile//mnt/dvr/2026-09-13/000/dav/08/08.20.31-08.49.43[R][0@0][0].mp4", none),
    ).toBe("viewer");
    for (const path of [
      "/mnt/mtd/Config/passwd",
      "/mnt/sd/../mtd/Config/passwd.dav",
      "/mnt/sd/%2e%2e/mtd/Config/passwd.dav",
      "/mnt/sd/config.backup",
      "/etc/shadow",
      "//mnt/sd/a.dav",
    ])
      expect(requiredRole(`RPC_Loadfile/${path}`, none)).toBe("admin");
  });
});
