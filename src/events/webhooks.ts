/**
 * Signed webhooks. Each webhook is an outbox target (`webhook:<name>`): deliveries are durable, ordered per
 * target, retried with backoff and dead-lettered after 24 h. A delivery is a POST of the event JSON signed as
 * the Standard Webhooks specification says (https://www.standardwebhooks.com/), so receivers verify it with
 * its published libraries:
 *
 *   webhook-id: <stable delivery id, the same on every retry>
 *   webhook-timestamp: <unix seconds>
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>
 *
 * The key is the secret's bytes after `whsec_` base64-decoded (the spec's form), or a plain secret's UTF-8
 * bytes (camgate 0.1's secrets; the libraries take those with `format: "raw"`). camgate 0.1's own headers
 * (`X-Camgate-Timestamp`, `X-Camgate-Signature: sha256=<hex HMAC(secret, timestamp.body)>`) are still sent
 * while `legacySignature` is on, for receivers that have not moved yet. Any 2xx answer counts as delivered.
 */
import { createHmac } from "node:crypto";
import { request } from "undici";
import type { EventLinks } from "./event-links.ts";
import type { CamgateEvent } from "./model.ts";

export interface WebhookTarget {
  name: string;
  url: string;
  secret: string;
  cameras: readonly string[];
  codes: readonly string[];
  actions: readonly string[];
  timeoutMs: number;
  /** Also send camgate 0.1's X-Camgate-Signature (until every receiver verifies webhook-signature). */
  legacySignature: boolean;
}

export function webhookTargetKey(name: string): string {
  return `webhook:${name}`;
}

export function webhookWants(webhook: WebhookTarget, event: CamgateEvent): boolean {
  const matches = (list: readonly string[], value: string) => list.includes("*") || list.includes(value);
  return (
    matches(webhook.cameras, event.camera) &&
    matches(webhook.codes, event.code) &&
    matches(webhook.actions, event.action)
  );
}

/** The HMAC key of a secret: `whsec_<base64>` as Standard Webhooks writes it, else the secret's bytes. */
export function webhookKey(secret: string): Buffer {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
}

/** The `webhook-signature` header value (Standard Webhooks, version 1). */
export function standardSignature(secret: string, id: string, timestamp: string, body: string): string {
  return `v1,${createHmac("sha256", webhookKey(secret)).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

/** camgate 0.1's `X-Camgate-Signature` (kept while `legacySignature` is on). */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export async function postWebhook(
  webhook: WebhookTarget,
  event: CamgateEvent,
  deliveryId: string,
  links?: EventLinks,
): Promise<void> {
  // The event as stored, and links a receiver without a login can open (signed, absolute, for a while).
  const body = JSON.stringify(links ? { ...event, links } : event);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const response = await request(webhook.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "camgate",
      "webhook-id": deliveryId,
      "webhook-timestamp": timestamp,
      "webhook-signature": standardSignature(webhook.secret, deliveryId, timestamp, body),
      "x-camgate-event": event.code,
      ...(webhook.legacySignature
        ? {
            "x-camgate-delivery": deliveryId,
            "x-camgate-timestamp": timestamp,
            "x-camgate-signature": signWebhook(webhook.secret, timestamp, body),
          }
        : {}),
    },
    body,
    headersTimeout: webhook.timeoutMs,
    bodyTimeout: webhook.timeoutMs,
  });
  await response.body.dump();
  if (response.statusCode < 200 || response.statusCode >= 300)
    throw new Error(`${webhook.url} answered ${response.statusCode}`);
}
