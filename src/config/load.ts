/**
 * Loading `camgate.yaml`: YAML with `${ENV_VAR}` and `${file:/path}` substitution in string values, validated
 * against the schema. Every error names the line and the field path, e.g.
 * `camgate.yaml:14: cameras[0].password: environment variable DOGS_PASSWORD is not set`.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from "yaml";
import { type Config, configSchema } from "./schema.ts";
import { closestKey, keysAt } from "./suggest.ts";
import { formatConfigPath, validateConfig } from "./validate.ts";

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
  return formatConfigPath(parts);
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
  /** The line of the node at `path`, or of its nearest ancestor that exists (a missing key). */
  const lineAt = (path: readonly PropertyKey[]) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth) as (string | number)[], true) as
        | { range?: [number, number, number] }
        | undefined;
      const offset = node && typeof node === "object" && "range" in node ? node.range?.[0] : undefined;
      if (offset !== undefined) return lineOf(offset);
    }
    return "?";
  };
  /** The line of `key` itself in the mapping at `path` (an unknown key is not in the data's paths). */
  const keyLine = (path: readonly PropertyKey[], key: string) => {
    const map = doc.getIn(path as (string | number)[], true) as { items?: unknown[] } | undefined;
    const pair = map?.items?.find(
      (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === key,
    );
    const offset = isPair(pair) && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    return offset === undefined ? lineAt(path) : lineOf(offset);
  };
  const result = configSchema.safeParse(data);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") {
        // One message per unknown key, at its own line, with the key it is probably a typo of.
        const known = keysAt(configSchema, issue.path);
        for (const key of issue.keys) {
          const guess = closestKey(key, known);
          const where = formatConfigPath([...issue.path, key]);
          problems.push(
            `${source}:${keyLine(issue.path, key)}: ${where}: unknown key${guess ? `; did you mean "${guess}"?` : known.length > 0 ? ` (known here: ${known.join(", ")})` : ""}`,
          );
        }
        continue;
      }
      problems.push(`${source}:${lineAt(issue.path)}: ${formatConfigPath(issue.path)}: ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  for (const issue of validateConfig(result.data))
    problems.push(`${source}:${lineAt(issue.path)}: ${formatConfigPath(issue.path)}: ${issue.message}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data;
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
