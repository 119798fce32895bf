/**
 * `camgate init [-c camgate.yaml] [--no-discover]`: the first run on a terminal. It asks for the admin, searches
 * the network for cameras (DHDiscover and WS-Discovery, no login), offers what it found and takes typed
 * addresses, looks at each camera with one login (never more: a wrong password costs one failed login), and
 * writes a commented camgate.yaml (camera passwords in files of their own, the admin's password hashed), the
 * same file the Settings page then edits. Answers are read line by line, so it can be scripted
 * (`printf 'alice\n...' | camgate init`).
 */

import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { createInterface, type Interface } from "node:readline/promises";
import { type CameraProbe, probeConfiguredCamera } from "../camera/camera-probe.ts";
import { type DiscoveredCamera, discoverCameras } from "../camera/discovery.ts";
import { addCamera, listAt, setUser } from "../config/config-edits.ts";
import { ConfigFileWriter } from "../config/config-file-writer.ts";
import { cameraSchema } from "../config/schema.ts";
import { hashPassword } from "../server/auth/secrets.ts";

const TEMPLATE = `# camgate's config, written by \`camgate init\`; edit it by hand or on the web UI's Settings page
# (docs/configuration.md has every key). Apply a change with \`systemctl reload camgate\` or SIGHUP.
server:
  # This machine only. To reach camgate from the network, set server.tls (cert and key files) and
  # listen on 0.0.0.0:8443, or put a TLS proxy in front of it.
  listen: 127.0.0.1:8080

storage:
  dir: ./data # recordings, events and camgate's database, beside this file

users:

cameras:
`;

interface Chosen {
  id: string;
  name: string | undefined;
  url: string;
  username: string;
  password: string;
  rtspPort: number;
}

interface Asker {
  ask(question: string, fallback?: string): Promise<string>;
  close(): void;
}

function asker(input: NodeJS.ReadableStream, out: NodeJS.WritableStream): Asker {
  const rl: Interface = createInterface({ input, output: out, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  return {
    async ask(question, fallback) {
      out.write(`${question}${fallback ? ` [${fallback}]` : ""}: `);
      const next = await lines.next();
      if (next.done) throw new Error("no more answers (the input ended)");
      const answer = next.value.trim();
      out.write("\n");
      return answer === "" && fallback !== undefined ? fallback : answer;
    },
    close: () => rl.close(),
  };
}

function idFrom(text: string, taken: ReadonlySet<string>): string {
  const base =
    text
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 28) || "camera";
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return id;
}

function look(camera: Chosen): Promise<CameraProbe> {
  return probeConfiguredCamera(
    cameraSchema.parse({
      id: camera.id,
      url: camera.url,
      username: camera.username,
      password: camera.password,
      rtsp: { port: camera.rtspPort },
    }),
  );
}

export async function runInit(
  flags: { config: string; discover?: boolean; timeout?: string },
  input: NodeJS.ReadableStream,
  out: NodeJS.WritableStream,
): Promise<boolean> {
  if (existsSync(flags.config))
    throw new Error(`${flags.config} exists already: edit it, or change it on the web UI's Settings page`);
  const prompt = asker(input, out);
  try {
    out.write("camgate init: the admin first, then your cameras.\n");
    const admin = await prompt.ask("Admin user name", "admin");
    let password = "";
    while (password.length < 8) {
      password = await prompt.ask("Admin password (8 characters or more)");
      if (password.length < 8) out.write("  too short\n");
    }
    const taken = new Set<string>();
    const chosen: Chosen[] = [];
    const addOne = async (url: string, suggestion: string, found?: DiscoveredCamera) => {
      const id = idFrom(await prompt.ask("  Camera id", idFrom(suggestion, taken)), taken);
      const username = await prompt.ask("  Camera user", "admin");
      const cameraPassword = await prompt.ask("  Camera password");
      const rtspPort = Number(await prompt.ask("  Camera RTSP port", "554"));
      const camera: Chosen = {
        id,
        name: found?.name ?? found?.model,
        url,
        username,
        password: cameraPassword,
        rtspPort: Number.isInteger(rtspPort) && rtspPort > 0 && rtspPort < 65536 ? rtspPort : 554,
      };
      out.write("  Logging in once to check (never more: a wrong password cannot lock the camera)...\n");
      const probe = await look(camera);
      out.write(`  ${probe.ok ? "ok" : probe.code}: ${probe.summary}\n`);
      if (!probe.ok && (await prompt.ask("  Keep it anyway? (y/n)", "n")).toLowerCase() !== "y") return;
      taken.add(id);
      chosen.push(camera);
    };
    if (flags.discover !== false) {
      const timeoutMs = Number(flags.timeout ?? 3000);
      out.write(`Searching this machine's networks for cameras (${timeoutMs / 1000} s)...\n`);
      const { cameras } = await discoverCameras({ timeoutMs });
      if (cameras.length === 0) out.write("  none answered (you can type addresses next)\n");
      cameras.forEach((camera, i) => {
        const port = camera.httpPort && camera.httpPort !== 80 ? `:${camera.httpPort}` : "";
        const what = [camera.vendor, camera.model].filter(Boolean).join(" ") || "a camera";
        out.write(
          `  ${i + 1}. http://${camera.address}${port}  ${what}${camera.serial ? ` (serial ${camera.serial})` : ""}\n`,
        );
      });
      if (cameras.length > 0) {
        const picks = (await prompt.ask("Add which? (numbers, e.g. 1,2; Enter: none)", ""))
          .split(/[\s,]+/)
          .filter(Boolean)
          .map(Number);
        for (const pick of picks) {
          const camera = cameras[pick - 1];
          if (!camera) {
            out.write(`  no camera ${pick}\n`);
            continue;
          }
          const port = camera.httpPort && camera.httpPort !== 80 ? `:${camera.httpPort}` : "";
          out.write(`Camera ${pick}:\n`);
          await addOne(
            `http://${camera.address}${port}`,
            camera.name ?? camera.model ?? camera.address,
            camera,
          );
        }
      }
    }
    for (;;) {
      const url = await prompt.ask("Another camera's address (http://host[:port]; Enter: done)", "");
      if (url === "") break;
      if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) {
        out.write("  an address looks like http://192.168.1.20 or http://192.168.1.20:8080\n");
        continue;
      }
      await addOne(url.replace(/\/$/, ""), new URL(url).hostname);
    }
    await writeFile(flags.config, TEMPLATE, { flag: "wx", mode: 0o600 });
    try {
      await new ConfigFileWriter(flags.config).edit(async (doc, secrets) => {
        setUser(doc, admin, { role: "admin", password: { hash: hashPassword(password) } });
        listAt(doc, "cameras");
        for (const camera of chosen)
          addCamera(doc, camera.id, {
            ...(camera.name ? { name: camera.name } : {}),
            url: camera.url,
            username: camera.username,
            password: await secrets.store(`camera-${camera.id}-password`, camera.password),
            ...(camera.rtspPort !== 554 ? { rtspPort: camera.rtspPort } : {}),
          });
      });
    } catch (error) {
      await rm(flags.config, { force: true });
      throw error;
    }
    await rm(`${flags.config}.previous`, { force: true });
    out.write(
      `Wrote ${flags.config} with ${chosen.length} camera(s) and the admin ${admin}. Start camgate with:\n  camgate serve -c ${flags.config}\n`,
    );
    return true;
  } finally {
    prompt.close();
  }
}
