/**
 * Loads Dahua's web player (`WebSocketServer.js`, unchanged) in Node: copied beside camgate's stand-ins for
 * what it imports (its decoder manager, `js-md5`), with `ws` as the browser's WebSocket. What the player
 * hands its decoder is recorded per player.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { WebSocket } from "ws";

/** What one player handed its decoder. */
export interface PlayerSink {
  tracks: { codecName: string; trackID: string }[];
  /** Each RTP packet with the 6-byte header it came with. */
  packets: { header: Buffer; payload: Buffer }[];
  errors: unknown[];
  onPacket?: () => void;
  onError?: () => void;
}

export interface DahuaPlayer {
  setUserInfo(user: string, password: string): void;
  setCallback(name: string, callback: (value: unknown) => void): void;
  connect(): void;
  disconnect(): void;
}

type PlayerFactory = (wsUrl: string, rtspUrl: string) => DahuaPlayer;

const WORK_MANAGER = `
export default function WorkerManager() {
  const sink = globalThis.__dahuaPlayerSinks.shift();
  const ignore = () => {};
  return {
    init: ignore, setFPS: ignore, setLiveMode: ignore, terminate: ignore, initStartTime: ignore,
    controlAudio: ignore, playbackSpeed: ignore, capture: ignore,
    setCallback(name, callback) { if (name === "Error") sink.errorCallback = callback; },
    sendSdpInfo(tracks) { sink.tracks.push(...tracks); },
    parseRTPData(header, payload) {
      sink.packets.push({ header: Buffer.from(header), payload: Buffer.from(payload) });
      sink.onPacket?.();
    },
  };
}
`;

const MD5 = `
import { createHash } from "node:crypto";
export default function md5(text) { return createHash("md5").update(text, "latin1").digest("hex"); }
`;

export interface LoadedPlayer {
  /**
   * A player for `rtspUrl` over `wsUrl`, connected, with the credentials its page would give it; `headers`
   * go with its WebSocket's upgrade (what a browser adds: the host's cookies, the page's Origin).
   */
  play(options: {
    wsUrl: string;
    rtspUrl: string;
    user: string;
    password: string;
    headers?: Record<string, string>;
  }): { player: DahuaPlayer; sink: PlayerSink };
  close(): Promise<void>;
}

export async function loadDahuaPlayer(): Promise<LoadedPlayer> {
  const dir = await mkdtemp(join(tmpdir(), "camgate-dahua-player-"));
  await copyFile(resolve(import.meta.dirname, "WebSocketServer.js"), join(dir, "WebSocketServer.js"));
  await writeFile(join(dir, "WorkManager.js"), WORK_MANAGER);
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  await mkdir(join(dir, "node_modules", "js-md5"), { recursive: true });
  await writeFile(join(dir, "node_modules", "js-md5", "index.js"), MD5);
  await writeFile(
    join(dir, "node_modules", "js-md5", "package.json"),
    JSON.stringify({ name: "js-md5", type: "module", main: "index.js" }),
  );
  const module = (await import(pathToFileURL(join(dir, "WebSocketServer.js")).href)) as {
    default: PlayerFactory;
  };
  const global = globalThis as unknown as {
    WebSocket?: unknown;
    __dahuaPlayerSinks?: PlayerSink[];
  };
  const before = global.WebSocket;
  global.__dahuaPlayerSinks = [];
  const players: DahuaPlayer[] = [];
  return {
    play({ wsUrl, rtspUrl, user, password, headers }) {
      const sink: PlayerSink = { tracks: [], packets: [], errors: [] };
      (global.__dahuaPlayerSinks as PlayerSink[]).push(sink);
      // The player opens its socket with `new WebSocket(url)`, as in a browser (set for this player only:
      // it connects at once).
      global.WebSocket = class extends WebSocket {
        constructor(url: string) {
          super(url, { headers });
        }
      };
      const player = module.default(wsUrl, rtspUrl);
      player.setCallback("Error", (error) => {
        sink.errors.push(error);
        sink.onError?.();
      });
      player.setUserInfo(user, password);
      player.connect();
      players.push(player);
      return { player, sink };
    },
    async close() {
      for (const player of players) player.disconnect();
      global.WebSocket = before;
      delete global.__dahuaPlayerSinks;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
