/**
 * The SD card's health (issue 27): read from the camera into its status, and a gateway event when the card
 * fails, fills, goes missing and comes back; a camera without the CGI is asked once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { httpGet, waitFor } from "../helpers/http.ts";

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    cameras: [{ id: "yard", profile: "amcrest-ip2m-841b" }],
    events: { enabled: false, sdCard: { checkSeconds: 0.2, fullPercent: 90 } },
  });
});

afterAll(async () => {
  await gateway?.close();
});

function control() {
  const camera = gateway.cameras.get("yard");
  if (!camera) throw new Error("no camera");
  return camera.control;
}

interface SdCard {
  state: string;
  usedPercent: number | null;
  totalBytes: number;
}

async function sdCard(): Promise<SdCard | null> {
  const body = JSON.parse((await httpGet(`${gateway.url}/api/v1/cameras/yard`)).text) as {
    sdCard: SdCard | null;
  };
  return body.sdCard;
}

async function untilState(state: string): Promise<SdCard> {
  return waitFor(
    async () => {
      const card = await sdCard();
      return card?.state === state ? card : undefined;
    },
    10_000,
    `the SD card ${state}`,
  );
}

async function gatewayCodes(): Promise<string[]> {
  const list = JSON.parse(
    (await httpGet(`${gateway.url}/api/v1/events?camera=yard&source=gateway`)).text,
  ) as {
    events: { code: string }[];
  };
  return list.events
    .map((event) => event.code)
    .filter((code) => code.startsWith("SdCard"))
    .reverse();
}

describe("the SD card's health", () => {
  it("is read into the camera's status, with a gateway event for each change for the worse and back", async () => {
    const ok = await untilState("ok");
    expect(ok.totalBytes).toBe(31_254_904_832);
    expect(ok.usedPercent).toBe(33.3);
    control().setSdCard({ failing: true });
    await untilState("error");
    control().setSdCard({ failing: false });
    await untilState("ok");
    control().setSdCard({ usedBytes: 30_000_000_000 });
    await untilState("full");
    control().setSdCard({ present: false });
    await untilState("missing");
    await waitFor(async () => ((await gatewayCodes()).length === 4 ? true : undefined), 10_000, "the events");
    // The first "ok" is no news; the card filling is said once, however many checks see it full.
    expect(await gatewayCodes()).toEqual(["SdCardError", "SdCardOk", "SdCardFull", "SdCardMissing"]);
  });
});
