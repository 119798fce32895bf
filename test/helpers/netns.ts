/**
 * A LAN of two hosts on this machine, for tests of what crosses a network (discovery): two network
 * namespaces joined by a veth pair (10.213.<n>.1 and .2, /24, each with a default route on its link so
 * broadcast and multicast leave on it). Nothing reaches any other network: the pair is all there is. Needs
 * `ip netns` (root, iproute2); `netnsUnavailable()` says why not where it cannot be made.
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

let why: string | undefined | null = null;

/** Why network namespaces cannot be made here, or undefined when they can (probed once). */
export function netnsUnavailable(): string | undefined {
  if (why !== null) return why;
  const name = `cgprobe${process.pid}`;
  const add = spawnSync("ip", ["netns", "add", name], { encoding: "utf8", timeout: 10_000 });
  if (add.status === 0) {
    spawnSync("ip", ["netns", "del", name], { timeout: 10_000 });
    why = undefined;
  } else why = `ip netns add failed: ${(add.stderr || add.error?.message || "").trim()}`;
  return why;
}

export interface Lan {
  /** Namespace names and addresses of the two hosts. */
  hosts: [{ ns: string; address: string }, { ns: string; address: string }];
  /** `ip netns exec <ns> <command...>` as arguments for spawn/execFile. */
  exec(ns: string, command: string[]): string[];
  close(): Promise<void>;
}

export async function makeLan(): Promise<Lan> {
  // Short names (interfaces: 15 characters at most), unique per test process.
  const id = `${process.pid % 100_000}`;
  const subnet = 10 + (process.pid % 200);
  const hosts: Lan["hosts"] = [
    { ns: `cg${id}a`, address: `10.213.${subnet}.1` },
    { ns: `cg${id}b`, address: `10.213.${subnet}.2` },
  ];
  const links = [`cg${id}va`, `cg${id}vb`];
  const ip = (...args: string[]) => run("ip", args, { timeout: 10_000 });
  const made: string[] = [];
  const close = async () => {
    // Deleting a namespace deletes the veth end in it, and with it the pair.
    for (const ns of made.splice(0)) await ip("netns", "del", ns).catch(() => undefined);
  };
  try {
    for (const host of hosts) {
      await ip("netns", "add", host.ns);
      made.push(host.ns);
    }
    await ip("link", "add", links[0] as string, "type", "veth", "peer", "name", links[1] as string);
    for (const [index, host] of hosts.entries()) {
      const link = links[index] as string;
      await ip("link", "set", link, "netns", host.ns);
      const inNs = (...args: string[]) => ip("-n", host.ns, ...args);
      await inNs("link", "set", "lo", "up");
      await inNs("addr", "add", `${host.address}/24`, "dev", link);
      await inNs("link", "set", link, "up");
      await inNs("route", "add", "default", "dev", link);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    hosts,
    exec: (ns, command) => ["netns", "exec", ns, ...command],
    close,
  };
}
