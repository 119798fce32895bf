/**
 * /metrics as Prometheus wants it: `promtool check metrics` (Debian's prometheus package) finds nothing to
 * say, and the counters of events, deliveries (by target and outcome) and HTTP requests count what happened.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { locatePromtool, runTool } from "../helpers/rtsp.ts";
import { WebhookReceiver } from "../helpers/webhook-receiver.ts";

describe("/metrics", () => {
  let gw: TestGateway;
  const receiver = new WebhookReceiver("metrics-secret");

  beforeAll(async () => {
    await receiver.start();
    gw = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
      webhooks: [{ name: "hook", url: receiver.url, secret: "metrics-secret", codes: ["VideoMotion"] }],
    });
  });

  afterAll(async () => {
    await gw?.close();
    await receiver.stop();
  });

  it("counts events, deliveries and requests, and passes promtool check metrics", async () => {
    await waitFor(
      () => (gw.camgate.events.sources.streams.get("dogs")?.current === "live" ? true : undefined),
      10_000,
      "the event stream",
    );
    gw.cameras.get("dogs")?.control.trigger("VideoMotion", "Start");
    await waitFor(() => receiver.received.find((d) => d.body.code === "VideoMotion"), 10_000, "the webhook");
    expect((await fetch(`${gw.url}/api/v1/cameras/dogs`)).status).toBe(200);
    expect((await fetch(`${gw.url}/no/such/page`)).status).toBe(404);
    const text = await waitFor(
      async () => {
        const body = await (await fetch(`${gw.url}/metrics`)).text();
        return body.includes('outcome="delivered"') ? body : undefined;
      },
      10_000,
      "the delivery counted",
    );
    expect(text).toMatch(/camgate_events_total\{camera="dogs",source="camera",code="VideoMotion"\} [1-9]/);
    expect(text).toMatch(/camgate_deliveries_total\{target="webhook:hook",outcome="delivered"\} [1-9]/);
    expect(text).toContain(
      'camgate_http_requests_total{server="main",method="GET",route="/api/v1/cameras/:id",status="200"} 1',
    );
    expect(text).toContain(
      'camgate_http_requests_total{server="main",method="GET",route="unmatched",status="404"} 1',
    );
    expect(text).toContain("# TYPE camgate_events_total counter");
    const promtool = locatePromtool();
    if (!promtool) {
      if (process.env.CI === "true")
        throw new Error("promtool is not installed (.ci/run installs prometheus)");
      return;
    }
    const lint = await runTool(promtool, ["check", "metrics"], 30_000, text);
    expect(lint.stdout.toString() + lint.stderr).toBe("");
    expect(lint.code).toBe(0);
  });
});
