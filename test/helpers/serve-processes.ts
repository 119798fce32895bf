/**
 * `camgate serve` processes for the cluster tests: started from a config in a directory, ready once they
 * say which cameras they run, their stdout lines kept, and all of them ended (continued first, if a test
 * stopped one) when the test is done.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");

export class ServeProcesses {
  readonly processes = new Map<string, ChildProcess>();
  readonly logs = new Map<string, string[]>();

  constructor(private readonly dir: string) {}

  get(name: string): ChildProcess | undefined {
    return this.processes.get(name);
  }

  /** Starts `<dir>/<name>.yaml`; resolves once it is up, rejects if it exits first. */
  start(name: string): Promise<ChildProcess> {
    return new Promise((ready, reject) => {
      const child = spawn(process.execPath, [BIN, "serve", "-c", `${name}.yaml`], {
        cwd: this.dir,
        stdio: ["ignore", "pipe", "pipe"],
      });
      this.processes.set(name, child);
      const lines: string[] = [];
      this.logs.set(name, lines);
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        lines.push(line);
        if (line.includes("camera(s) on")) ready(child);
      });
      createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) =>
        lines.push(`stderr: ${line}`),
      );
      child.once("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
    });
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.processes.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGCONT");
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }),
    );
  }
}
