import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_SOAP_BYTES,
  parseSoapRequest,
  readSoapHead,
  SOAP_HEAD_BYTES,
  SoapError,
  soapEnvelope,
  xml,
} from "../../src/protocol/soap.ts";
import {
  NonceMemory,
  PASSWORD_DIGEST,
  PASSWORD_TEXT,
  passwordDigest,
  type UsernameToken,
  verifyUsernameToken,
} from "../../src/protocol/ws-security.ts";
import { formatDuration, parseDuration, parseTermination } from "../../src/protocol/xml-duration.ts";

const WINDOW = { windowMs: 5 * 60_000, allowText: false };

function token(password: string, created: string, nonce: Buffer, username = "olga"): UsernameToken {
  return {
    username,
    password: passwordDigest(nonce, created, password),
    type: PASSWORD_DIGEST,
    nonce: nonce.toString("base64"),
    created,
  };
}

describe("WS-Security UsernameToken", () => {
  // The OASIS UsernameToken Profile 1.1 example (§4.1): nonce, Created and password give this digest.
  it("computes the profile's own digest", () => {
    const nonce = Buffer.from("LKqI6G/AikKCQrN0zqZFlg==", "base64");
    expect(passwordDigest(nonce, "2010-09-16T07:50:45Z", "userpassword")).toBe(
      "tuOSpGlFlIXsozq4HFNeeGeFLEI=",
    );
  });

  it("accepts exactly the right password within the window, whatever the nonce and time", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 64 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: -290, max: 290 }),
        (nonce, password, other, skewSeconds) => {
          const now = Date.UTC(2026, 11, 2, 12);
          const created = new Date(now + skewSeconds * 1000).toISOString();
          const signed = token(password, created, Buffer.from(nonce));
          expect(verifyUsernameToken(signed, [password], now, WINDOW)).toEqual({ ok: true });
          if (other !== password)
            expect(verifyUsernameToken(signed, [other], now, WINDOW)).toEqual({
              ok: false,
              reason: "wrong-password",
            });
        },
      ),
    );
  });

  it("refuses a Created outside the window either way, and one without a zone", () => {
    const now = Date.UTC(2026, 11, 2, 12);
    const nonce = Buffer.alloc(16, 7);
    for (const offset of [-301_000, 301_000]) {
      const created = new Date(now + offset).toISOString();
      expect(verifyUsernameToken(token("pw", created, nonce), ["pw"], now, WINDOW)).toEqual({
        ok: false,
        reason: "stale-created",
      });
    }
    // Local time without a zone: the UTC/local mix-up cameras and clients make (rtsp-h264.md, ONVIF quirks).
    const local = "2026-12-02T12:00:00";
    expect(verifyUsernameToken(token("pw", local, nonce), ["pw"], now, WINDOW)).toEqual({
      ok: false,
      reason: "bad-token",
    });
  });

  it("refuses PasswordText unless allowed, and tokens without a nonce", () => {
    const text: UsernameToken = {
      username: "olga",
      password: "pw",
      type: PASSWORD_TEXT,
      nonce: undefined,
      created: undefined,
    };
    expect(verifyUsernameToken(text, ["pw"], 0, WINDOW)).toEqual({ ok: false, reason: "text-not-allowed" });
    expect(verifyUsernameToken(text, ["pw"], 0, { ...WINDOW, allowText: true })).toEqual({ ok: true });
    const noNonce = { ...token("pw", new Date(0).toISOString(), Buffer.alloc(16)), nonce: undefined };
    expect(verifyUsernameToken(noNonce, ["pw"], 0, WINDOW)).toEqual({ ok: false, reason: "bad-token" });
  });

  it("refuses a nonce that is not canonical base64 (another spelling of the same bytes; issue 28)", () => {
    const created = "2026-12-02T12:00:00Z";
    const nonce = Buffer.from("fbff3ffefbff3ffefbff3ffefbff3f01", "hex");
    const good = token("pw", created, nonce);
    expect(verifyUsernameToken(good, ["pw"], Date.parse(created), WINDOW)).toEqual({ ok: true });
    const text = good.nonce ?? "";
    for (const spelling of [`${text}=`, text.replace(/=+$/, ""), text.replace(/\+/g, "-"), `*${text}`])
      expect(verifyUsernameToken({ ...good, nonce: spelling }, ["pw"], Date.parse(created), WINDOW)).toEqual({
        ok: false,
        reason: "bad-token",
      });
  });

  it("remembers each nonce once, and forgets it after twice the window", () => {
    const memory = new NonceMemory(1000, 100);
    expect(memory.remember("a", 0)).toBe(true);
    expect(memory.remember("a", 500)).toBe(false);
    expect(memory.remember("b", 2500)).toBe(true);
    expect(memory.remember("a", 2600)).toBe(true);
  });

  it("stays bounded when flooded", () => {
    const memory = new NonceMemory(60_000, 50);
    for (let i = 0; i < 10_000; i++) memory.remember(`n${i}`, i);
    // The newest are still refused as replays; the memory did not grow past its bound to get there.
    expect(memory.remember("n9999", 10_000)).toBe(false);
    expect((memory as unknown as { seen: Map<string, number> }).seen.size).toBeLessThanOrEqual(51);
  });
});

describe("SOAP requests", () => {
  const envelope = (prefix: string, body: string, header = "") =>
    `<?xml version="1.0"?><${prefix}:Envelope xmlns:${prefix}="http://www.w3.org/2003/05/soap-envelope">${header ? `<${prefix}:Header>${header}</${prefix}:Header>` : ""}<${prefix}:Body>${body}</${prefix}:Body></${prefix}:Envelope>`;

  it("names the operation whatever prefixes the client chose", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/),
        fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/),
        (envelopePrefix, bodyPrefix) => {
          const request = parseSoapRequest(
            envelope(
              envelopePrefix,
              `<${bodyPrefix}:GetStreamUri xmlns:${bodyPrefix}="http://www.onvif.org/ver10/media/wsdl"><${bodyPrefix}:ProfileToken>main</${bodyPrefix}:ProfileToken></${bodyPrefix}:GetStreamUri>`,
            ),
          );
          expect(request.operation).toBe("GetStreamUri");
          expect(request.body.ProfileToken).toBe("main");
        },
      ),
    );
  });

  it("reads the UsernameToken of the npm onvif client's header", () => {
    const request = parseSoapRequest(
      envelope(
        "s",
        '<GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/>',
        '<Security s:mustUnderstand="1" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>olga</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">abc=</Password><Nonce EncodingType="x">bm9uY2U=</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2026-12-02T12:00:00.000Z</Created></UsernameToken></Security>',
      ),
    );
    expect(request.operation).toBe("GetProfiles");
    expect(request.token).toEqual({
      username: "olga",
      password: "abc=",
      type: PASSWORD_DIGEST,
      nonce: "bm9uY2U=",
      created: "2026-12-02T12:00:00.000Z",
    });
  });

  it("refuses DTDs (no entity expansion), oversized requests, non-envelopes and empty bodies", () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>${envelope("s", "<GetScopes>&b;</GetScopes>")}`;
    expect(() => parseSoapRequest(bomb)).toThrow(SoapError);
    expect(() =>
      parseSoapRequest(envelope("s", `<GetScopes>${"x".repeat(MAX_SOAP_BYTES)}</GetScopes>`)),
    ).toThrow(/larger/);
    expect(() => parseSoapRequest("<html><body>hi</body></html>")).toThrow(/not a SOAP envelope/);
    expect(() => parseSoapRequest(envelope("s", ""))).toThrow(/names no operation/);
    expect(() => parseSoapRequest("<s:Envelope><s:Body><a></b></s:Body>")).toThrow(SoapError);
  });

  it("finds the operation and the token in a bounded look at the start, as the full parse does (property)", () => {
    const security =
      '<Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>olga</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">abc=</Password><Nonce>bm9uY2U=</Nonce><Created>2026-12-02T12:00:00.000Z</Created></UsernameToken></Security>';
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/),
        fc.boolean(),
        fc.nat({ max: 3 * SOAP_HEAD_BYTES }),
        (prefix, signed, padding) => {
          const text = envelope(
            prefix,
            `<${prefix}:GetProfiles xmlns:${prefix}="http://www.onvif.org/ver10/media/wsdl"><Pad>${"x".repeat(padding)}</Pad></${prefix}:GetProfiles>`,
            signed ? security : "",
          );
          const head = readSoapHead(text);
          const full = parseSoapRequest(text);
          expect(head.operation).toBe(full.operation);
          expect(head.token).toEqual(full.token);
        },
      ),
    );
  });

  it("finds nothing where the start holds no header or no envelope, and never throws", () => {
    const late = `<s:Envelope xmlns:s="x"><!--${"y".repeat(SOAP_HEAD_BYTES)}--><s:Header><Security><UsernameToken><Username>a</Username></UsernameToken></Security></s:Header><s:Body><GetProfiles/></s:Body></s:Envelope>`;
    expect(readSoapHead(late).token).toBeUndefined();
    expect(readSoapHead("<html>hi</html>")).toEqual({ operation: undefined, token: undefined });
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        readSoapHead(text);
      }),
    );
  });

  it("never throws anything but a SoapError on arbitrary input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        try {
          parseSoapRequest(text);
        } catch (error) {
          expect(error).toBeInstanceOf(SoapError);
        }
      }),
    );
  });

  it("escapes every value written into a response", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const written = parseSoapRequest(
          soapEnvelope(`<tds:Echo><tds:Value>${xml(text)}</tds:Value></tds:Echo>`),
        );
        expect(written.operation).toBe("Echo");
        expect(String(written.body.Value ?? "")).toBe(text.trim());
      }),
    );
  });
});

describe("xs:duration and termination times", () => {
  it("reads what ONVIF clients send", () => {
    expect(parseDuration("PT60S")).toBe(60_000);
    expect(parseDuration("PT1M")).toBe(60_000);
    expect(parseDuration("PT0.5S")).toBe(500);
    expect(parseDuration("P1DT2H")).toBe(26 * 3_600_000);
    expect(parseDuration("PT")).toBeUndefined();
    expect(parseDuration("P1Y")).toBeUndefined();
    expect(parseDuration("60")).toBeUndefined();
    expect(parseTermination("2026-12-02T12:01:00Z", Date.UTC(2026, 11, 2, 12))).toBe(60_000);
    expect(parseTermination("tomorrow", 0)).toBeUndefined();
  });

  it("reads back what it writes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (seconds) => {
        expect(parseDuration(formatDuration(seconds * 1000))).toBe(seconds * 1000);
      }),
    );
  });
});
