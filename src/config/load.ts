/**
 * Loading `camgate.yaml`: YAML with `${ENV_VAR}` and `${file:/path}` substitution in string values, validated
 * against the schema. Every error names the line and the field path, e.g.
 * `camgate.yaml:14: cameras[0].password: environment variable DOGS_PASSWORD is not set`.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from "yaml";
import { type Config, configSchema } from "./schema.ts";

export class ConfigError extends Error {
  readonly code = "bad-config";
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Name used in messages (the file path). */
  source?: string;
  /** Base for relative `${file:...}` paths and storage dirs. */
  baseDir?: string;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path)
    out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  return out || "(top level)";
}

/** `cameras[0].password` from the YAML ancestors of a node. */
function fieldPathOf(chain: readonly unknown[]): string {
  const parts: (string | number)[] = [];
  chain.forEach((node, i) => {
    if (isPair(node)) parts.push(isScalar(node.key) ? String(node.key.value) : String(node.key));
    else if (isSeq(node)) {
      const index = node.items.indexOf(chain[i + 1] as never);
      if (index >= 0) parts.push(index);
    }
  });
  return formatPath(parts);
}

/** Parses and validates config text. */
export function parseConfig(text: string, options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const source = options.source ?? "config";
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: string[] = [];
  const lineOf = (offset: number | undefined) =>
    offset === undefined ? "?" : String(lineCounter.linePos(offset).line);
  for (const error of doc.errors)
    problems.push(`${source}:${lineOf(error.pos[0])}: ${error.message.split("\n")[0]}`);
  if (problems.length > 0) throw new ConfigError(problems);

  visit(doc, {
    Scalar(_key, node, path) {
      if (typeof node.value !== "string" || !node.value.includes("${")) return;
      const where = `${source}:${lineOf(node.range?.[0])}: ${fieldPathOf([...path, node])}`;
      node.value = node.value.replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
        if (name.startsWith("file:")) {
          const file = name.slice(5);
          const full = isAbsolute(file) ? file : resolve(options.baseDir ?? process.cwd(), file);
          try {
            return readFileSync(full, "utf8").replace(/\r?\n$/, "");
          } catch (error) {
            problems.push(
              `${where}: cannot read ${full} for ${whole}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
            );
            return "";
          }
        }
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
          problems.push(`${where}: ${whole} is not a valid substitution (use \${NAME} or \${file:/path})`);
          return whole;
        }
        const value = env[name];
        if (value === undefined) {
          problems.push(`${where}: environment variable ${name} is not set`);
          return "";
        }
        return value;
      });
    },
  });
  if (problems.length > 0) throw new ConfigError(problems);

  const data = doc.toJS() ?? {};
  const result = configSchema.safeParse(data);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const node = doc.getIn(issue.path as (string | number)[], true) as
        | { range?: [number, number, number] }
        | undefined;
      let offset = isScalar(node) || (node && "range" in node) ? node?.range?.[0] : undefined;
      // A missing key: point at its parent.
      for (let depth = issue.path.length - 1; offset === undefined && depth >= 0; depth--) {
        const parent = doc.getIn(issue.path.slice(0, depth) as (string | number)[], true) as
          | { range?: [number, number, number] }
          | undefined;
        offset = parent?.range?.[0];
      }
      const extra = issue.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")})` : "";
      problems.push(`${source}:${lineOf(offset)}: ${formatPath(issue.path)}: ${issue.message}${extra}`);
    }
    throw new ConfigError(problems);
  }
  const config = result.data;
  checkConsistency(config, source, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function checkConsistency(config: Config, source: string, problems: string[]): void {
  const ids = new Set<string>();
  for (const [i, camera] of config.cameras.entries()) {
    if (ids.has(camera.id)) problems.push(`${source}: cameras[${i}].id: "${camera.id}" is used twice`);
    ids.add(camera.id);
  }
  const names = new Set<string>();
  for (const [i, user] of config.users.entries()) {
    if (names.has(user.name)) problems.push(`${source}: users[${i}].name: "${user.name}" is used twice`);
    names.add(user.name);
    for (const camera of user.cameras) {
      if (camera !== "*" && !ids.has(camera))
        problems.push(`${source}: users[${i}].cameras: no camera "${camera}"`);
    }
  }
  const ports = new Map<number, string>();
  for (const camera of config.cameras) {
    if (camera.passthroughPort === undefined) continue;
    const other = ports.get(camera.passthroughPort);
    if (other)
      problems.push(
        `${source}: cameras ${other} and ${camera.id} share passthroughPort ${camera.passthroughPort}`,
      );
    ports.set(camera.passthroughPort, camera.id);
  }
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([
      `${path}: cannot read the config file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    ]);
  }
  return parseConfig(text, { env, source: path, baseDir: resolve(path, "..") });
}
