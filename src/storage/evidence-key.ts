/**
 * The Ed25519 key evidence archives are signed with: kept in the storage dir (`evidence-ed25519.pem`, mode
 * 0600), made on first use. Its public half travels in every archive; its fingerprint (SHA-256 of the public
 * key's DER) is what an owner compares with `GET /api/v1/evidence/key` or `camgate verify --fingerprint`.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface EvidenceKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as PEM (SPKI). */
  publicPem: string;
  /** `sha256:<hex>` of the public key's DER. */
  fingerprint: string;
}

export function keyFingerprint(publicKey: KeyObject): string {
  return `sha256:${createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex")}`;
}

function describe(privateKey: KeyObject): EvidenceKey {
  const publicKey = createPublicKey(privateKey);
  return {
    privateKey,
    publicKey,
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    fingerprint: keyFingerprint(publicKey),
  };
}

export function loadOrCreateEvidenceKey(storageDir: string): EvidenceKey {
  mkdirSync(storageDir, { recursive: true });
  const file = join(storageDir, "evidence-ed25519.pem");
  if (existsSync(file)) {
    const key = createPrivateKey(readFileSync(file, "utf8"));
    if (key.asymmetricKeyType === "ed25519") return describe(key);
  }
  const { privateKey } = generateKeyPairSync("ed25519");
  writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  chmodSync(file, 0o600);
  return describe(privateKey);
}
