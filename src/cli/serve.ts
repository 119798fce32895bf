/**
 * `camgate serve` without a config: the built-in demo. Until the gateway lands (issue 4) this starts the two
 * demo cameras, `dogs` (amcrest-ip2m-841b, PTZ) and `front` (amcrest-ipm-723w), on free loopback ports.
 */
import { randomBytes } from "node:crypto";
import { startEmulator } from "../emulator/index.ts";

export async function runDemo(out: NodeJS.WritableStream): Promise<() => Promise<void>> {
  const password = randomBytes(9).toString("base64url");
  const dogs = await startEmulator({
    profile: "amcrest-ip2m-841b",
    password,
    name: "Dogs",
    motionCycle: { everyMs: 30_000, durationMs: 5000 },
  });
  const front = await startEmulator({
    profile: "amcrest-ipm-723w",
    password,
    name: "Front",
    motionCycle: { everyMs: 45_000, durationMs: 5000 },
  });
  out.write("camgate demo: two emulated cameras (Digest user admin, password printed once here)\n");
  out.write(`  dogs   ${dogs.cameras[0]?.url}/cgi-bin/magicBox.cgi?action=getDeviceType\n`);
  out.write(`  front  ${front.cameras[0]?.url}/cgi-bin/snapshot.cgi\n`);
  out.write(
    `  try:   curl --digest -u admin:${password} '${dogs.cameras[0]?.url}/cgi-bin/magicBox.cgi?action=getSystemInfo'\n`,
  );
  out.write("Press Ctrl-C to stop.\n");
  return async () => {
    await Promise.all([dogs.close(), front.close()]);
  };
}
