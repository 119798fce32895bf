import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAuthHeader } from "../../src/protocol/auth-header.ts";
import {
  computeDigest,
  type DigestAlgorithm,
  formatBasicAuthorization,
  formatDigestAuthorization,
  formatDigestChallenge,
  parseBasicAuthorization,
  parseDigestAuthorization,
  pickChallenge,
} from "../../src/protocol/digest.ts";

// Vectors from reference/dahua-cgi.md §1.8.
const RFC2617 = {
  username: "Mufasa",
  password: "Circle Of Life",
  realm: "testrealm@host.com",
  nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
  method: "GET",
  uri: "/dir/index.html",
  nc: "00000001",
  cnonce: "0a4f113b",
};

const RFC7616 = {
  username: "Mufasa",
  password: "Circle of Life",
  realm: "http-auth@example.org",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  nc: "00000001",
  method: "GET",
  uri: "/dir/index.html",
};

describe("digest computation: RFC and derived vectors", () => {
  it("1: RFC 2617 §3.5 MD5 qop=auth", () => {
    const result = computeDigest({ ...RFC2617, algorithm: "MD5", qop: "auth" });
    expect(result.ha1).toBe("939e7578ed9e3c518a452acee763bce9");
    expect(result.ha2).toBe("39aff3a2bab6126f332b942af96d3366");
    expect(result.response).toBe("6629fae49393a05397450978507c4ef1");
  });

  it("2: RFC 7616 §3.9.1 MD5", () => {
    const result = computeDigest({ ...RFC7616, algorithm: "MD5", qop: "auth" });
    expect(result.ha1).toBe("3d78807defe7de2157e2b0b6573a855f");
    expect(result.response).toBe("8ca523f5e9506fed4657c9700eebdbec");
  });

  it("3: RFC 7616 §3.9.1 SHA-256", () => {
    const result = computeDigest({ ...RFC7616, algorithm: "SHA-256", qop: "auth" });
    expect(result.ha1).toBe("7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
    expect(result.ha2).toBe("9a3fdae9a622fe8de177c24fa9c070f2b181ec85e15dcbdc32e10c82ad450b04");
    expect(result.response).toBe("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  });

  describe("4: RFC 7616 §3.9.2 SHA-512-256 with userhash (the erratum)", () => {
    const inputs = {
      username: "Jäsøn Doe",
      password: "Secret, or not?",
      realm: "api@example.org",
      nonce: "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
      cnonce: "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
      nc: "00000001",
      method: "GET",
      uri: "/doe.json",
    };

    it("we implement FIPS SHA-512/256, as the RFC specifies", () => {
      const result = computeDigest({ ...inputs, algorithm: "SHA-512-256", qop: "auth" });
      expect(result.response).toBe("3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5");
      const userhash = createHash("sha512-256").update(`${inputs.username}:${inputs.realm}`).digest("hex");
      expect(userhash).toBe("793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
    });

    it("the RFC's printed values come from SHA-512 truncated to 256 bits, which we do not use", () => {
      const truncated = (data: string) => createHash("sha512").update(data).digest("hex").slice(0, 64);
      const ha1 = truncated(`${inputs.username}:${inputs.realm}:${inputs.password}`);
      const ha2 = truncated(`${inputs.method}:${inputs.uri}`);
      const response = truncated(`${ha1}:${inputs.nonce}:${inputs.nc}:${inputs.cnonce}:auth:${ha2}`);
      expect(truncated(`${inputs.username}:${inputs.realm}`)).toBe(
        "488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec",
      );
      expect(response).toBe("ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd");
      const ours = computeDigest({ ...inputs, algorithm: "SHA-512-256", qop: "auth" }).response;
      expect(ours).not.toBe(response);
    });

    it("formats userhash and username* as RFC 7616 shows", () => {
      const header = formatDigestAuthorization({
        ...inputs,
        algorithm: "SHA-512-256",
        qop: "auth",
        opaque: "HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS",
        userhash: true,
      });
      expect(header).toContain('username="793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"');
      expect(header).toContain("userhash=true");
      const plain = formatDigestAuthorization({ ...inputs, algorithm: "SHA-512-256", qop: "auth" });
      expect(plain).toContain("username*=UTF-8''J%C3%A4s%C3%B8n%20Doe");
      expect(parseDigestAuthorization(plain)?.username).toBe("Jäsøn Doe");
    });
  });

  it("5: Basic", () => {
    expect(formatBasicAuthorization("Aladdin", "open sesame")).toBe("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    expect(parseBasicAuthorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")).toEqual({
      username: "Aladdin",
      password: "open sesame",
    });
  });

  it("6: MD5-sess", () => {
    const result = computeDigest({ ...RFC2617, algorithm: "MD5-sess", qop: "auth" });
    expect(result.ha1).toBe("5edb191b66dce1584c16cb7e7346fcee");
    expect(result.response).toBe("8e3825c57e897f5a0dec6c2d4e5059d0");
  });

  it("7: qop=auth-int with an empty body", () => {
    expect(computeDigest({ ...RFC2617, algorithm: "MD5", qop: "auth-int", body: "" }).response).toBe(
      "5e6610ecf9ba3017a4870ad48e3ad30b",
    );
  });

  it("8: no qop (RFC 2069 form)", () => {
    const { nc: _nc, cnonce: _cnonce, ...withoutQop } = RFC2617;
    expect(computeDigest({ ...withoutQop, algorithm: "MD5" }).response).toBe(
      "670fd8c2df070c60b045671b8b24ff02",
    );
  });

  it("9: Dahua-shaped challenge, nc=1 and nc=2", () => {
    const challenge = pickChallenge(
      'Digest realm="Login to ND011912041000", qop="auth", nonce="4220250", opaque="16cceef6c0afb3f828d86b172acc59e1ee756c90"',
    );
    if (challenge?.scheme !== "digest") throw new Error("expected a digest challenge");
    const base = {
      algorithm: challenge.algorithm,
      username: "admin",
      password: "secret",
      realm: challenge.realm,
      nonce: challenge.nonce,
      method: "GET",
      uri: "/cgi-bin/magicBox.cgi?action=getVendor",
      qop: "auth" as const,
      cnonce: "0a4f113b",
    };
    const first = computeDigest({ ...base, nc: "00000001" });
    expect(first.ha1).toBe("835dbdc3552954906e3d516e32970f70");
    expect(first.ha2).toBe("7cafc9ce33b03c1cfb5e8d16305ea9f9");
    expect(first.response).toBe("2846e6520643b9f9060c5bb125b24009");
    expect(computeDigest({ ...base, nc: "00000002" }).response).toBe("936272255beb4b06642efdd67846a2e7");
  });

  it("10: Dahua RTSP (no qop, full rtsp:// uri)", () => {
    expect(
      computeDigest({
        algorithm: "MD5",
        username: "admin",
        password: "admin",
        realm: "Login to 4M0747EPAA1D284",
        nonce: "745449738fdf77164f570c37c9186b52",
        method: "OPTIONS",
        uri: "rtsp://115.236.15.165:554/cam/realmonitor?channel=1&subtype=0",
      }).response,
    ).toBe("2e9ed5d37ee6c242b7b5c1a6bc4a6602");
  });
});

describe("WWW-Authenticate parsing", () => {
  it("parses several challenges in one header, quoted commas and escaped quotes, any case", () => {
    const parsed = parseAuthHeader(
      'Basic realm="Device, \\"CGI\\"", DIGEST Realm="a,b", NONCE=123, qop="auth,auth-int", Algorithm=SHA-256',
    );
    expect(parsed).toEqual([
      { scheme: "basic", params: { realm: 'Device, "CGI"' } },
      {
        scheme: "digest",
        params: { realm: "a,b", nonce: "123", qop: "auth,auth-int", algorithm: "SHA-256" },
      },
    ]);
  });

  it("accepts several header lines and picks the strongest Digest, never Basic when Digest is offered", () => {
    const picked = pickChallenge([
      'Basic realm="x"',
      'Digest realm="r", nonce="1", algorithm=MD5, qop="auth"',
      'Digest realm="r", nonce="2", algorithm=SHA-256, qop="auth"',
      'Digest realm="r", nonce="3", algorithm=UNKNOWN-ALG',
    ]);
    expect(picked).toMatchObject({ scheme: "digest", nonce: "2", algorithm: "SHA-256" });
  });

  it("falls back to Basic only when it is all the server offers (2014 firmware)", () => {
    expect(pickChallenge('Basic realm="Device_CGI"')).toEqual({ scheme: "basic", realm: "Device_CGI" });
  });

  it("reads the Dahua stale answer: unquoted upper-case TRUE with algorithm", () => {
    expect(
      pickChallenge('Digest realm="Login to AMC0", qop="auth", nonce="9", algorithm=MD5, stale=TRUE'),
    ).toMatchObject({
      stale: true,
      algorithm: "MD5",
    });
  });

  it("reads the ONVIF shape without spaces and with a quoted stale", () => {
    expect(
      pickChallenge(
        'Digest realm="Login to 2J01018PAA00816",qop="auth",nonce="b252aWYtZGlnZXN0OjQzMjUzMzYxMzMw", opaque="", stale="false"',
      ),
    ).toMatchObject({ realm: "Login to 2J01018PAA00816", opaque: "", stale: false, qop: ["auth"] });
  });

  it("keeps a Basic token68 as such", () => {
    expect(parseAuthHeader("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")).toEqual([
      { scheme: "basic", params: {}, token68: "QWxhZGRpbjpvcGVuIHNlc2FtZQ==" },
    ]);
  });

  it("formats the challenge in Dahua's parameter order", () => {
    expect(formatDigestChallenge({ realm: "Login to X", qop: "auth", nonce: "4220250", opaque: "ab" })).toBe(
      'Digest realm="Login to X", qop="auth", nonce="4220250", opaque="ab"',
    );
  });
});

describe("Authorization formatting", () => {
  it("leaves algorithm, qop and nc unquoted and signs the exact target with its query", () => {
    const header = formatDigestAuthorization({
      algorithm: "MD5",
      username: "admin",
      password: "secret",
      realm: "Login to X",
      nonce: "1",
      method: "GET",
      uri: "/cgi-bin/eventManager.cgi?action=attach&codes=%5BAll%5D",
      qop: "auth",
      nc: "0000000a",
      cnonce: "abc",
      opaque: "op",
    });
    expect(header).toMatch(/algorithm=MD5,/);
    expect(header).toMatch(/qop=auth,/);
    expect(header).toMatch(/nc=0000000a,/);
    expect(header).toContain('uri="/cgi-bin/eventManager.cgi?action=attach&codes=%5BAll%5D"');
    expect(header).toContain('opaque="op"');
  });

  const safeText = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[\r\n]/.test(s));
  const algorithm = fc.constantFrom<DigestAlgorithm>(
    "MD5",
    "MD5-sess",
    "SHA-256",
    "SHA-256-sess",
    "SHA-512-256",
  );

  it("property: parse(format(x)) gives back every field, and the response verifies", () => {
    fc.assert(
      fc.property(
        fc.record({
          algorithm,
          username: safeText,
          password: fc.string(),
          realm: safeText,
          nonce: safeText,
          uri: safeText,
          cnonce: fc.stringMatching(/^[0-9a-f]{8,32}$/),
          nc: fc.integer({ min: 1, max: 0xffffffff }).map((n) => n.toString(16).padStart(8, "0")),
          opaque: fc.option(safeText, { nil: undefined }),
        }),
        (x) => {
          const inputs = { ...x, method: "GET", qop: "auth" as const };
          const { opaque, ...rest } = inputs;
          const header = formatDigestAuthorization(opaque === undefined ? rest : inputs);
          const parsed = parseDigestAuthorization(header);
          expect(parsed).toBeDefined();
          expect(parsed?.username).toBe(x.username);
          expect(parsed?.realm).toBe(x.realm);
          expect(parsed?.nonce).toBe(x.nonce);
          expect(parsed?.uri).toBe(x.uri);
          expect(parsed?.nc).toBe(x.nc);
          expect(parsed?.opaque).toBe(x.opaque);
          expect(parsed?.algorithm).toBe(x.algorithm);
          expect(parsed?.quoted.nc).toBe(false);
          expect(parsed?.response).toBe(computeDigest(inputs).response);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("property: the header parser never throws anything but its own error", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseAuthHeader(text);
        } catch (error) {
          expect((error as { code?: string }).code).toBe("bad-auth-header");
        }
      }),
      { numRuns: 2000 },
    );
  });
});
