/**
 * Debian's mosquitto (an MQTT 5 broker we did not write) for a test: on a loopback port, anonymous, no
 * persistence; `stop()` ends it by its PID and removes its directory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { freePort, waitFor } from "./http.ts";

const MOSQUITTO = "/usr/sbin/mosquitto";
export const locateMosquitto = () => (existsSync(MOSQUITTO) ? MOSQUITTO : undefined);

export interface TestMosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startMosquitto(): Promise<TestMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), "camgate-mosquitto-"));
  const port = await freePort();
  writeFileSync(
    join(dir, "mosquitto.conf"),
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`,
  );
  const broker: ChildProcess = spawn(MOSQUITTO, ["-c", join(dir, "mosquitto.conf")], { stdio: "ignore" });
  const url = `mqtt://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      const probe = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 500 });
      const ok = await new Promise<boolean>((resolve) => {
        probe.once("connect", () => resolve(true));
        probe.once("error", () => resolve(false));
        probe.once("close", () => resolve(false));
      });
      await probe.endAsync(true);
      return ok ? true : undefined;
    },
    10_000,
    "mosquitto to listen",
  );
  return {
    url,
    port,
    async stop() {
      if (broker.exitCode === null && broker.signalCode === null) {
        broker.kill("SIGTERM");
        await new Promise((resolve) => broker.once("exit", resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
