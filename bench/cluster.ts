/**
 * Several instances on one PostgreSQL (Debian's, started here with fsync and synchronous commits on, as
 * in production): three `camgate serve` processes sharing 16 emulated cameras (one emulator process), with
 * the default lease (6 s).
 *
 * Measured, each comparison in the same run:
 * - failover: SIGKILL one instance, time until every camera is leased by a live one (p50/p99 over the kills,
 *   target <= 10 s); the killed one is started again before the next kill;
 * - the internal hop: MJPEG and RTSP viewers of one camera on its owner and on another instance, latency
 *   from the emulator's capture stamp to arrival (the hop's added latency is the difference);
 * - events into the store, PostgreSQL against SQLite: 1,000 events/s over 16 cameras (each with a webhook
 *   delivery row), every one stored, with the time from publish to stored;
 * - rebalancing churn: cameras that move when an instance leaves cleanly and when it joins again, against
 *   the least possible (its share).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { request } from "undici";
import { EventBus } from "../src/events/bus.ts";
import { Outbox } from "../src/events/outbox.ts";
import { EventPublisher } from "../src/events/publisher.ts";
import { EventStore } from "../src/events/store.ts";
import { openDatabase } from "../src/storage/database.ts";
import { openPostgres } from "../src/storage/postgres.ts";
import { postgresSql } from "../src/storage/postgres-sql.ts";
import type { Sql } from "../src/storage/sql.ts";
import { SqliteSql } from "../src/storage/sqlite-sql.ts";
import { startTestPostgres, type TestPostgres } from "../test/helpers/postgres.ts";
import type { BenchResult } from "./report.ts";
import {
  type Child,
  percentile,
  rtspPortsOf,
  sleep,
  startEmulatorProcess,
  startGatewayProcess,
} from "./support/processes.ts";
import { RtspViewer } from "./support/rtsp-viewer.ts";
import { Viewer } from "./support/viewer.ts";

const PASSWORD = "bench-camera";
const CAMERAS = 16;
const INSTANCES = ["node-1", "node-2", "node-3"];
const KILLS = Number(process.env.CLUSTER_BENCH_KILLS ?? 10);
const EVENT_RATE = 1000;
const EVENT_SECONDS = Number(process.env.CLUSTER_BENCH_EVENT_SECONDS ?? 60);
const HOP_MS = 10_000;

interface Lease {
  camera: string;
  owner: string;
}

interface Instance {
  name: string;
  child: Child;
  url: string;
  rtspUrl: string;
}

/** Events published at `EVENT_RATE` for `EVENT_SECONDS` through the real publisher, bus and outbox. */
async function eventThroughput(
  sql: Sql,
  dir: string,
): Promise<{ published: number; stored: number; p50: number; p99: number; seconds: number }> {
  const store = new EventStore(sql, join(dir, "snapshots"));
  const outbox = new Outbox(sql);
  const bus = new EventBus(store, outbox);
  bus.addRouter(() => ["webhook:bench"]);
  const publisher = new EventPublisher(bus, store, pino({ level: "silent" }));
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const started = performance.now();
  let published = 0;
  // In steps of 10 ms, as many events as the rate owes by then (a steady 1,000/s, not bursts of a second).
  while (performance.now() - started < EVENT_SECONDS * 1000) {
    const owed = Math.floor(((performance.now() - started) / 1000) * EVENT_RATE);
    for (; published < owed; published++) {
      const at = performance.now();
      const camera = `cam${published % CAMERAS}`;
      pending.push(
        publisher
          .publish({
            camera,
            source: "camera",
            code: "AlarmLocal",
            action: "pulse",
            channel: published,
            data: { n: published },
            cameraTime: null,
          })
          .then(() => {
            latencies.push(performance.now() - at);
          }),
      );
    }
    await sleep(10);
  }
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    published,
    stored: await store.count(),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    seconds,
  };
}

function writeConfig(dir: string, name: string, pg: TestPostgres, urls: string[], ports: number[]): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'server: { listen: "127.0.0.1:0", rtsp: { listen: "127.0.0.1:0" } }',
      `storage: { dir: ${join(dir, name)}, postgres: { url: "${pg.url}", instance: ${name} } }`,
      "log: { level: warn }",
      "events: { heartbeatSeconds: 5, snapshotCodes: [] }",
      "backup: { enabled: false }",
      "logSync: { enabled: false }",
      "recording: { clips: { enabled: false } }",
      "cameras:",
      ...urls.map(
        (url, i) =>
          `  - { id: cam${i}, url: "${url}", username: admin, password: ${PASSWORD}, rtsp: { port: ${ports[i]} } }`,
      ),
      "",
    ].join("\n"),
  );
  return file;
}

async function startInstance(dir: string, name: string): Promise<Instance> {
  const { child, url } = await startGatewayProcess(join(dir, `${name}.yaml`));
  const streams = (await (await request(`${url}/api/v1/cameras/cam0/streams`)).body.json()) as {
    streams: { name: string; rtspUrl: string | null }[];
  };
  const rtspUrl = (streams.streams.find((s) => s.name === "main")?.rtspUrl ?? "").replace(/\/cam0$/, "");
  return { name, child, url, rtspUrl };
}

async function leases(url: string): Promise<Lease[]> {
  const response = await request(`${url}/api/v1/cluster`);
  if (response.statusCode !== 200) {
    await response.body.dump();
    return [];
  }
  return ((await response.body.json()) as { leases: Lease[] }).leases;
}

/** Polls until `done` holds for the cluster's leases; the ms it took. */
async function until(url: string, done: (leases: Lease[]) => boolean, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (done(await leases(url))) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error("the cluster did not settle in time");
    await sleep(50);
  }
}

const allOwnedBy = (names: readonly string[]) => (list: Lease[]) =>
  list.length === CAMERAS && list.every((lease) => names.includes(lease.owner));
const everyoneOwns = (names: readonly string[]) => (list: Lease[]) =>
  allOwnedBy(names)(list) && names.every((name) => list.some((lease) => lease.owner === name));
const owners = (list: Lease[]) => new Map(list.map((lease) => [lease.camera, lease.owner]));
const moves = (before: Map<string, string>, after: Map<string, string>) =>
  [...after].filter(([camera, owner]) => before.get(camera) !== owner).length;

async function hopLatency(
  owner: Instance,
  other: Instance,
  camera: string,
): Promise<Record<string, { p50: number; p95: number; frames: number }>> {
  const mjpeg = [owner, other].map((i) => new Viewer(`${i.url}/api/v1/cameras/${camera}/stream.mjpeg`));
  const rtsp = [owner, other].map((i) => new RtspViewer(`${i.rtspUrl}/${camera}`, { stamped: true }));
  await Promise.all([...mjpeg.map((v) => v.start()), ...rtsp.map((v) => v.start())]);
  await sleep(3000);
  for (const v of [...mjpeg, ...rtsp]) v.record(true);
  await sleep(HOP_MS);
  for (const v of [...mjpeg, ...rtsp]) v.record(false);
  for (const v of [...mjpeg, ...rtsp]) v.stop();
  const summary = (latencies: number[]) => {
    const sorted = [...latencies].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), frames: sorted.length };
  };
  return {
    "MJPEG on the owner": summary(mjpeg[0]?.latencies ?? []),
    "MJPEG through the hop": summary(mjpeg[1]?.latencies ?? []),
    "RTSP on the owner": summary(rtsp[0]?.latencies ?? []),
    "RTSP through the hop": summary(rtsp[1]?.latencies ?? []),
  };
}

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "camgate-bench-cluster-"));
  const children: Child[] = [];
  const pg = await startTestPostgres({ durable: true });
  try {
    // Events into each store, one after the other (they share the machine).
    const sqliteDir = join(dir, "sqlite");
    mkdirSync(sqliteDir, { recursive: true });
    const db = openDatabase(join(sqliteDir, "camgate.db"));
    const sqlite = await eventThroughput(new SqliteSql(db), sqliteDir);
    db.close();
    const store = await openPostgres(pg.url);
    const postgres = await eventThroughput(postgresSql(store.pool), join(dir, "pg"));
    await store.pool.query("TRUNCATE events, incidents, deliveries");
    await store.close();

    const emulator = await startEmulatorProcess("amcrest-ip2m-841b", PASSWORD, CAMERAS, [
      "--rtsp-sessions",
      "6",
    ]);
    children.push(emulator.child);
    const ports = rtspPortsOf(emulator.child.lines);
    for (const name of INSTANCES) writeConfig(dir, name, pg, emulator.urls, ports);
    const running = new Map<string, Instance>();
    for (const name of INSTANCES) running.set(name, await startInstance(dir, name));
    const any = () => [...running.values()][0] as Instance;
    await until(any().url, everyoneOwns(INSTANCES));

    // The hop's added latency: one camera seen on its owner and on another instance.
    const settled = await leases(any().url);
    const camera = settled[0]?.camera ?? "cam0";
    const ownerName = settled[0]?.owner ?? "node-1";
    const owner = running.get(ownerName) as Instance;
    const other = [...running.values()].find((i) => i.name !== ownerName) as Instance;
    const hop = await hopLatency(owner, other, camera);

    // Rebalancing: one leaves cleanly, then joins again.
    const leaver = "node-3";
    const before = owners(await leases(any().url));
    await running.get(leaver)?.child.stop();
    running.delete(leaver);
    const remaining = INSTANCES.filter((n) => n !== leaver);
    await until(any().url, allOwnedBy(remaining));
    const afterLeave = owners(await leases(any().url));
    running.set(leaver, await startInstance(dir, leaver));
    await until(any().url, everyoneOwns(INSTANCES));
    // The hand-back happens over the joiner's heartbeats: wait until two views in a row agree.
    let afterJoin = owners(await leases(any().url));
    for (;;) {
      await sleep(2500);
      const again = owners(await leases(any().url));
      if (moves(afterJoin, again) === 0) break;
      afterJoin = again;
    }
    const share = CAMERAS / INSTANCES.length;
    const churn = {
      leave: moves(before, afterLeave),
      leaveShare: [...before.values()].filter((o) => o === leaver).length,
      join: moves(afterLeave, afterJoin),
      joinShare: [...afterJoin.values()].filter((o) => o === leaver).length,
    };

    // Failover: SIGKILL one instance, time until a live one holds every camera; then it comes back.
    const failovers: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const victim = INSTANCES[k % INSTANCES.length] as string;
      const instance = running.get(victim) as Instance;
      const killedAt = performance.now();
      instance.child.process.kill("SIGKILL");
      await new Promise((resolve) => instance.child.process.once("exit", resolve));
      running.delete(victim);
      const survivors = INSTANCES.filter((n) => n !== victim);
      const survivor = running.get(survivors[0] as string) as Instance;
      await until(survivor.url, allOwnedBy(survivors));
      failovers.push(performance.now() - killedAt);
      running.set(victim, await startInstance(dir, victim));
      await until(survivor.url, everyoneOwns(INSTANCES));
    }
    for (const instance of running.values()) await instance.child.stop();
    failovers.sort((a, b) => a - b);

    const mjpegAdded = (hop["MJPEG through the hop"]?.p50 ?? 0) - (hop["MJPEG on the owner"]?.p50 ?? 0);
    const rtspAdded = (hop["RTSP through the hop"]?.p50 ?? 0) - (hop["RTSP on the owner"]?.p50 ?? 0);
    const p99 = percentile(failovers, 99);
    return {
      name: "cluster",
      setup: `3 camgate processes on one PostgreSQL (fsync and synchronous commit on), ${CAMERAS} emulated cameras in one process, default lease (6 s); ${KILLS} SIGKILLs; MJPEG and RTSP viewers of one camera on its owner and through another instance for ${HOP_MS / 1000} s; events at ${EVENT_RATE}/s for ${EVENT_SECONDS} s into each store (publisher, bus, outbox with a webhook row each); one instance leaving and joining`,
      tables: [
        {
          title: "failover (SIGKILL to every camera leased by a live instance)",
          rows: [
            {
              kills: failovers.length,
              "p50 s": percentile(failovers, 50) / 1000,
              "p99 s": p99 / 1000,
              "min s": (failovers[0] ?? 0) / 1000,
              "max s": (failovers[failovers.length - 1] ?? 0) / 1000,
            },
          ],
        },
        {
          title: "the internal hop: capture to arrival",
          rows: Object.entries(hop).map(([setup, l]) => ({
            setup,
            pictures: l.frames,
            "p50 ms": l.p50,
            "p95 ms": l.p95,
          })),
        },
        {
          title: `events into the store (${EVENT_RATE}/s)`,
          rows: [
            { store: "SQLite (WAL, synchronous=NORMAL)", ...sqlite },
            { store: "PostgreSQL 15 (fsync, synchronous_commit on)", ...postgres },
          ].map(({ store, published, stored, p50, p99, seconds }) => ({
            store,
            published,
            stored,
            "events/s": published / seconds,
            "publish to stored p50 ms": p50,
            "p99 ms": p99,
          })),
        },
        {
          title: "rebalancing (cameras that changed owner)",
          rows: [
            { change: "node-3 leaves", moved: churn.leave, "its share": churn.leaveShare },
            { change: "node-3 joins again", moved: churn.join, "its share": churn.joinShare },
          ],
        },
      ],
      ratios: {
        "MJPEG latency through the hop / on the owner (p50)":
          (hop["MJPEG through the hop"]?.p50 ?? 0) / (hop["MJPEG on the owner"]?.p50 || 1),
        "RTSP latency through the hop / on the owner (p50)":
          (hop["RTSP through the hop"]?.p50 ?? 0) / (hop["RTSP on the owner"]?.p50 || 1),
        "PostgreSQL store p99 / SQLite store p99": postgres.p99 / (sqlite.p99 || 1),
        "cameras moved on leave / the leaver's share": churn.leave / (churn.leaveShare || 1),
        "cameras moved on join / the joiner's share": churn.join / (churn.joinShare || 1),
      },
      targets: [
        {
          target: "failover p99 <= 10 s with the defaults",
          met: p99 <= 10_000,
          value: `${(p99 / 1000).toFixed(1)} s`,
        },
        {
          target: "every event stored, both stores",
          met: sqlite.stored === sqlite.published && postgres.stored === postgres.published,
          value: `SQLite ${sqlite.stored}/${sqlite.published}, PostgreSQL ${postgres.stored}/${postgres.published}`,
        },
        {
          target: "the hop adds under 50 ms (p50)",
          met: mjpegAdded < 50 && rtspAdded < 50,
          value: `MJPEG +${mjpegAdded.toFixed(1)} ms, RTSP +${rtspAdded.toFixed(1)} ms`,
        },
        {
          target: "only the leaver's or joiner's share moves",
          met: churn.leave === churn.leaveShare && churn.join <= Math.ceil(share) + 1,
          value: `leave ${churn.leave} (share ${churn.leaveShare}), join ${churn.join} (share ${churn.joinShare})`,
        },
      ],
    };
  } finally {
    for (const child of children.reverse()) await child.stop();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
