/** Child processes for benchmarks: started from the sources with tsx, ended by their PID afterwards. */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

export interface Child {
  process: ChildProcess;
  /** Lines it printed before `ready` matched. */
  lines: string[];
  stop(): Promise<void>;
}

/** Starts `node --import tsx <script> ...args` and waits until `ready` matches `count` printed lines. */
export function startTsx(script: string, args: string[], ready: RegExp, count = 1): Promise<Child> {
  return startNode(["--import", "tsx", script, ...args], ready, count);
}

/**
 * `BENCH_PROFILE_DIR=/tmp/p npm run bench -- x`: the gateway writes a V8 CPU profile there when it ends
 * (NODE_OPTIONS may not carry --cpu-prof, so it goes on the command line).
 */
function profiling(): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ["--cpu-prof", "--cpu-prof-dir", dir] : [];
}

/** Starts `node ...args` and waits until `ready` matches `count` printed lines. */
function startNode(args: string[], ready: RegExp, count = 1): Promise<Child> {
  return startProcess(process.execPath, args, ready, count);
}

/**
 * Starts Debian's python3 on a script (GStreamer's GI bindings are there) and waits for `ready`. Its stdin
 * is a pipe the scripts watch: they end when it closes, so none outlives the bench.
 */
export function startPython(script: string, args: string[], ready: RegExp): Promise<Child> {
  return startProcess("/usr/bin/python3", [script, ...args], ready, 1, "pipe");
}

async function startProcess(
  command: string,
  args: string[],
  ready: RegExp,
  count: number,
  stdin: "ignore" | "pipe" = "ignore",
): Promise<Child> {
  const script = args.find((arg) => !arg.startsWith("-") && arg !== "tsx") ?? command;
  const child = spawn(command, args, {
    stdio: [stdin, "pipe", "inherit"],
  });
  const lines: string[] = [];
  const reader = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    let matched = 0;
    const timer = setTimeout(() => reject(new Error(`${script} did not get ready`)), 30_000);
    reader.on("line", (line) => {
      lines.push(line);
      if (ready.test(line) && ++matched >= count) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return {
    process: child,
    lines,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Starts emulated cameras in their own process; resolves with their URLs. */
export async function startEmulatorProcess(
  profile: string,
  password: string,
  count = 1,
  extra: string[] = [],
): Promise<{ child: Child; urls: string[] }> {
  const child = await startTsx(
    "bench/support/cli.ts",
    [
      "emulate",
      "--profile",
      profile,
      "--listen",
      "127.0.0.1:0",
      "--password",
      password,
      "--count",
      String(count),
      ...extra,
    ],
    /^emulated .* on (http:\S+)/,
    count,
  );
  const urls = child.lines
    .map((line) => /on (http:\S+)/.exec(line)?.[1])
    .filter((u): u is string => u !== undefined);
  return { child, urls };
}

/** The RTSP port an emulator process printed (`RTSP on rtsp://127.0.0.1:<port>/...`). */
export function rtspPortOf(lines: string[]): number {
  return rtspPortsOf(lines)[0] ?? Number.NaN;
}

/** Every camera's RTSP port an emulator process printed, in the order of its cameras. */
export function rtspPortsOf(lines: string[]): number[] {
  return lines
    .map((line) => /RTSP on rtsp:\/\/127\.0\.0\.1:(\d+)/.exec(line)?.[1])
    .filter((port): port is string => port !== undefined)
    .map(Number);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** The gateway's URL from its ready record (stdout is JSON log lines when it is not a terminal). */
function readyUrl(line: string): string | undefined {
  if (!line.startsWith("{")) return undefined;
  const record = JSON.parse(line) as { url?: string; webUi?: string };
  return record.webUi ? record.url : undefined;
}

/** Starts the gateway from a config file in its own process; resolves with its URL. */
export async function startGatewayProcess(configFile: string): Promise<{ child: Child; url: string }> {
  const child = await startNode(
    [...profiling(), "--import", "tsx", "bench/support/cli.ts", "serve", "-c", configFile],
    /"webUi":"http/,
  );
  const url = child.lines.map(readyUrl).find((u) => u !== undefined);
  if (!url) throw new Error("gateway did not print its URL");
  return { child, url };
}

/**
 * The gateway as users run it: the compiled CLI (`bin/camgate.js`, built first when the sources are newer),
 * for figures such as memory where running from the sources (tsx's transform) would add its own.
 */
export async function startBuiltGatewayProcess(configFile: string): Promise<{ child: Child; url: string }> {
  execFileSync(process.execPath, ["scripts/build-if-stale.mjs"], { stdio: "ignore" });
  const child = await startNode(
    [...profiling(), "bin/camgate.js", "serve", "-c", configFile],
    /"webUi":"http/,
  );
  const url = child.lines.map(readyUrl).find((u) => u !== undefined);
  if (!url) throw new Error("gateway did not print its URL");
  return { child, url };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * The resident memory of Node itself on this machine (an idle `node` with nothing loaded), in MB: the floor
 * under any figure of a Node process's memory, for comparisons with servers written in C.
 */
export async function bareNodeRssMb(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    return rssMb(child.pid as number);
  } finally {
    child.kill("SIGTERM");
  }
}

/**
 * Memory only this process holds, in MB (private pages from /proc's smaps_rollup): RSS counts the program's
 * code and shared libraries too, which every Node (or GStreamer) process on the machine shares (45 MB of a
 * camgate's RSS is the node binary).
 */
export function privateMb(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(rollup)?.[1] ?? Number.NaN);
  return (kb("Private_Clean") + kb("Private_Dirty")) / 1024;
}

/** Resident memory of a process in MB, from /proc. */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
