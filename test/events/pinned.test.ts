/**
 * Pinned incidents: an operator pins one (a viewer may not), and it is kept with its events and snapshot
 * whatever the event retention says, until it is unpinned; the incident says who pinned it. On SQLite and
 * PostgreSQL (the test runs in both projects).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";

describe("pinned incidents", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [{ id: "yard", profile: "amcrest-ipm-723w" }],
      users: [
        { name: "olga", role: "operator", token: "olga-pin-token-0123456789" },
        { name: "victor", role: "viewer", token: "victor-pin-token-0123456789" },
      ],
      events: { enabled: true, heartbeatSeconds: 1 },
    });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
  });

  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const olga = as("olga-pin-token-0123456789");
  const victor = as("victor-pin-token-0123456789");

  async function motion(known: string[] = []): Promise<string> {
    const control = gw.cameras.get("yard")?.control;
    const before = Date.now();
    control?.trigger("VideoMotion", "Start");
    control?.trigger("VideoMotion", "Stop");
    return waitFor(
      async () => {
        const page = (await (
          await fetch(`${gw.url}/api/v1/incidents?camera=yard&code=VideoMotion`, { headers: olga })
        ).json()) as {
          incidents: { id: string; start: string; ongoing: boolean }[];
        };
        return page.incidents.find(
          (i) => Date.parse(i.start) >= before - 1000 && !i.ongoing && !known.includes(i.id),
        )?.id;
      },
      10_000,
      "an ended motion incident",
    );
  }

  it("keeps a pinned incident through the event retention until it is unpinned", async () => {
    await waitFor(
      () => (gw.camgate.events.sources.streams.get("yard")?.current === "live" ? true : undefined),
      10_000,
      "the event stream",
    );
    const kept = await motion();
    const other = await motion([kept]);
    const pin = (id: string, method: string, headers: Record<string, string>) =>
      fetch(`${gw.url}/api/v1/incidents/${id}/pin`, { method, headers });
    expect((await pin(kept, "PUT", victor)).status).toBe(403);
    const pinned = await pin(kept, "PUT", olga);
    expect(pinned.status).toBe(200);
    expect(((await pinned.json()) as { pinned: { by: string } }).pinned.by).toBe("olga");
    const incident = (id: string) => fetch(`${gw.url}/api/v1/incidents/${id}`, { headers: olga });
    expect(((await (await incident(kept)).json()) as { pinned: { by: string } | null }).pinned?.by).toBe(
      "olga",
    );

    // Retention that keeps nothing: the pinned incident and its events stay, the other goes.
    await gw.camgate.events.store.prune(0, 0);
    expect((await incident(kept)).status).toBe(200);
    expect((await incident(other)).status).toBe(404);
    const transitions = ((await (await incident(kept)).json()) as { transitions: unknown[] }).transitions;
    expect(transitions.length).toBe(2);

    expect((await pin(kept, "DELETE", olga)).status).toBe(200);
    await gw.camgate.events.store.prune(0, 0);
    expect((await incident(kept)).status).toBe(404);
  }, 60_000);
});
