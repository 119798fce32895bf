import type { Config } from "../config/schema.ts";
import { formatConfigPath, validateConfig } from "../config/validate.ts";

/**
 * Why camgate would refuse to start with this config: the same validation `camgate config check` runs (a
 * config from a file has passed it already, with line numbers).
 */
export function startupProblems(config: Config): string[] {
  return validateConfig(config).map((issue) => `${formatConfigPath(issue.path)}: ${issue.message}`);
}
