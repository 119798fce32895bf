/**
 * The CGI passthrough against calling the camera directly with Digest: latency added per call (p50/p99, one
 * client, sequential) and requests per second (8 concurrent clients for 5 s), in the same run. The emulator,
 * the gateway and this load generator run as three processes on this 2-core machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "undici";
import { pickChallenge } from "../src/protocol/digest.ts";
import type { BenchResult } from "./report.ts";
import { digestHeader } from "./support/digest.ts";
import { percentile, startEmulatorProcess, startGatewayProcess } from "./support/processes.ts";

const PASSWORD = "bench-camera";
const TOKEN = "bench-token";
const TARGET = "/cgi-bin/magicBox.cgi?action=getDeviceType";

type Caller = () => Promise<void>;

/** A direct Digest client with its own nonce and nc, as a well-written client would be. */
async function directCaller(cameraUrl: string, agent: Agent): Promise<Caller> {
  const origin = new URL(cameraUrl).origin;
  const first = await agent.request({ origin, path: TARGET, method: "GET" });
  await first.body.dump();
  let challenge = pickChallenge(String(first.headers["www-authenticate"]));
  let nc = 0;
  return async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (challenge?.scheme !== "digest") throw new Error("expected Digest");
      const authorization = digestHeader(challenge, TARGET, PASSWORD, ++nc);
      const response = await agent.request({
        origin,
        path: TARGET,
        method: "GET",
        headers: { authorization },
      });
      await response.body.arrayBuffer();
      if (response.statusCode === 200) return;
      challenge = pickChallenge(String(response.headers["www-authenticate"]));
      nc = 0;
    }
    throw new Error("direct call failed twice");
  };
}

function gatewayCaller(gatewayUrl: string, agent: Agent): Caller {
  const origin = new URL(gatewayUrl).origin;
  return async () => {
    const response = await agent.request({
      origin,
      path: `/cam/cam${TARGET}`,
      method: "GET",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await response.body.arrayBuffer();
    if (response.statusCode !== 200) throw new Error(`gateway answered ${response.statusCode}`);
  };
}

async function sequential(call: Caller, count: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await call();
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return latencies;
}

async function throughput(callers: Caller[], seconds: number): Promise<{ rps: number; errors: number }> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  await Promise.all(
    callers.map(async (call) => {
      while (Date.now() < end) {
        try {
          await call();
          done++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { rps: done / seconds, errors };
}

export async function run(): Promise<BenchResult> {
  const { child: emulator, urls } = await startEmulatorProcess("dahua-2024", PASSWORD);
  const cameraUrl = urls[0] ?? "";
  const dir = mkdtempSync(join(tmpdir(), "camgate-bench-"));
  const configFile = join(dir, "camgate.yaml");
  writeFileSync(
    configFile,
    [
      'server: { listen: "127.0.0.1:0" }',
      `storage: { dir: ${JSON.stringify(join(dir, "data"))} }`,
      "log: { level: warn }",
      // Event clips hold each camera's main stream open: off, so the figures stay comparable.
      "recording: { clips: { enabled: false } }",
      `users: [{ name: bench, role: admin, token: ${TOKEN} }]`,
      `cameras: [{ id: cam, url: "${cameraUrl}", username: admin, password: ${PASSWORD}, maxConnections: 4 }]`,
      "",
    ].join("\n"),
  );
  const { child: gateway, url: gatewayUrl } = await startGatewayProcess(configFile);
  const agent = new Agent({ connections: 16 });
  try {
    const direct = await directCaller(cameraUrl, agent);
    const viaGateway = gatewayCaller(gatewayUrl, agent);
    await sequential(direct, 100);
    await sequential(viaGateway, 100);
    const directLatency: number[] = [];
    const gatewayLatency: number[] = [];
    for (let round = 0; round < 5; round++) {
      directLatency.push(...(await sequential(direct, 200)));
      gatewayLatency.push(...(await sequential(viaGateway, 200)));
    }
    directLatency.sort((a, b) => a - b);
    gatewayLatency.sort((a, b) => a - b);
    const directCallers = await Promise.all(Array.from({ length: 8 }, () => directCaller(cameraUrl, agent)));
    const directLoad = await throughput(directCallers, 5);
    const gatewayLoad = await throughput(
      Array.from({ length: 8 }, () => gatewayCaller(gatewayUrl, agent)),
      5,
    );
    const p = (values: number[], q: number) => percentile(values, q);
    return {
      name: "passthrough",
      setup:
        "dahua-2024 emulator and gateway each in their own process; getDeviceType. Latency: 1 client, 5 alternating blocks of 200 sequential calls (after 100 warm-up calls each). Throughput: 8 concurrent clients for 5 s each; direct clients each keep their own Digest nonce; the gateway uses its budget of 4 camera connections.",
      tables: [
        {
          title: "latency per call (ms)",
          rows: [
            { path: "direct (Digest, nonce reused)", p50: p(directLatency, 50), p99: p(directLatency, 99) },
            { path: "through camgate (Bearer)", p50: p(gatewayLatency, 50), p99: p(gatewayLatency, 99) },
            {
              path: "added by camgate",
              p50: p(gatewayLatency, 50) - p(directLatency, 50),
              p99: p(gatewayLatency, 99) - p(directLatency, 99),
            },
          ],
        },
        {
          title: "throughput, 8 concurrent clients",
          rows: [
            { path: "direct", "requests/s": directLoad.rps, errors: directLoad.errors },
            { path: "through camgate", "requests/s": gatewayLoad.rps, errors: gatewayLoad.errors },
          ],
        },
      ],
      ratios: {
        "p50 latency, camgate / direct": p(gatewayLatency, 50) / p(directLatency, 50),
        "p99 latency, camgate / direct": p(gatewayLatency, 99) / p(directLatency, 99),
        "requests/s, camgate / direct": gatewayLoad.rps / directLoad.rps,
      },
      targets: [],
    };
  } finally {
    await agent.close();
    await gateway.stop();
    await emulator.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
