/**
 * A throwaway PostgreSQL (Debian's, the one users run) for a test: initdb into a temporary directory, the
 * server on a Unix socket in it only (no TCP at all), trust auth for its one role, fsync off. Run as the
 * `postgres` user when the tests run as root (initdb refuses root). `stop()` ends it by its PID file and
 * removes the directory; `restart()` stops and starts it in place (the database restarted under load).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./http.ts";

export interface TestPostgres {
  /** `postgresql://camgate@/camgate?host=<socket dir>&port=<port>` */
  url: string;
  socketDir: string;
  port: number;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Where Debian keeps the server binaries (`/usr/lib/postgresql/<major>/bin`), the newest first. */
export function locatePostgres(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const bin = join(root, major, "bin");
    if (existsSync(join(bin, "initdb")) && existsSync(join(bin, "pg_ctl"))) return bin;
  }
  return undefined;
}

/**
 * `durable`: fsync and synchronous commits on, as a production server runs (for benchmarks); tests run
 * without them (nothing here survives the test anyway).
 */
export async function startTestPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const bin = locatePostgres();
  if (!bin)
    throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)");
  const dir = mkdtempSync(join(tmpdir(), "camgate-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const ids = execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim();
    const gid = execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim();
    chownSync(dir, Number(ids), Number(gid));
    chmodSync(dir, 0o700);
  }
  const run = (tool: string, args: string[]) => {
    const command = asRoot ? "runuser" : join(bin, tool);
    const argv = asRoot ? ["-u", "postgres", "--", join(bin, tool), ...args] : args;
    const result = spawnSync(command, argv, { encoding: "utf8", timeout: 60_000 });
    if (result.status !== 0)
      throw new Error(`${tool} failed (${result.status}): ${result.stderr || result.stdout}`.trim());
  };
  const port = await freePort();
  run("initdb", ["-D", data, "-A", "trust", "-U", "camgate", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const start = () =>
    run("pg_ctl", [
      "-D",
      data,
      "-w",
      "-l",
      join(dir, "server.log"),
      "-o",
      `-k ${dir} -p ${port} -c listen_addresses= ${options.durable ? "" : "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"}`,
      "start",
    ]);
  const stop = () => run("pg_ctl", ["-D", data, "-w", "-m", "fast", "stop"]);
  try {
    start();
    run("createdb", ["-h", dir, "-p", String(port), "-U", "camgate", "camgate"]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let running = true;
  return {
    url: `postgresql://camgate@/camgate?host=${encodeURIComponent(dir)}&port=${port}`,
    socketDir: dir,
    port,
    async restart() {
      stop();
      start();
    },
    async stop() {
      if (running) {
        running = false;
        try {
          stop();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    },
  };
}
