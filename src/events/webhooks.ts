/**
 * Signed webhooks. Each webhook is an outbox target (`webhook:<name>`): deliveries are durable, ordered per
 * target, retried with backoff and dead-lettered after 24 h. A delivery is a POST of the event JSON with
 *
 *   X-Camgate-Event: <code>
 *   X-Camgate-Delivery: <stable delivery id>
 *   X-Camgate-Timestamp: <unix seconds>
 *   X-Camgate-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
 *
 * and any 2xx answer counts as delivered.
 */
import { createHmac } from "node:crypto";
import { request } from "undici";
import type { CamgateEvent } from "./model.ts";

export interface WebhookTarget {
  name: string;
  url: string;
  secret: string;
  cameras: readonly string[];
  codes: readonly string[];
  actions: readonly string[];
  timeoutMs: number;
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

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export async function postWebhook(
  webhook: WebhookTarget,
  event: CamgateEvent,
  deliveryId: string,
): Promise<void> {
  const body = JSON.stringify(event);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const response = await request(webhook.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "camgate",
      "x-camgate-event": event.code,
      "x-camgate-delivery": deliveryId,
      "x-camgate-timestamp": timestamp,
      "x-camgate-signature": signWebhook(webhook.secret, timestamp, body),
    },
    body,
    headersTimeout: webhook.timeoutMs,
    bodyTimeout: webhook.timeoutMs,
  });
  await response.body.dump();
  if (response.statusCode < 200 || response.statusCode >= 300)
    throw new Error(`${webhook.url} answered ${response.statusCode}`);
}
