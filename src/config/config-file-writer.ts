/**
 * Writes a change to `camgate.yaml` (from the UI or the API): the file's YAML document is edited in place
 * (`config-edits.ts`: comments and layout kept), the result validated exactly as a start or a reload
 * validates it (the same line-and-field messages; nothing is written when it fails), the previous file kept
 * as `<file>.previous`, and the new one written to a temporary file and renamed over it (a crash leaves one
 * or the other, never half). One change at a time.
 *
 * Secrets typed in the UI never go into the file: a camera password is written to a file of its own under
 * `camgate-secrets/` beside the config (0600, in a 0700 directory) and referenced as `${file:...}`; a user's
 * password is stored as its scrypt hash. Nothing here returns a secret.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { type Document, parseDocument } from "yaml";
import type { SecretReference } from "./config-edits.ts";
import { parseConfig } from "./load.ts";
import type { Config } from "./schema.ts";

export const SECRETS_DIR = "camgate-secrets";

/** Keeps secret values in files of their own, for the edit under way (undone if it does not validate). */
export interface SecretStore {
  /** Stores `value` under `name` (letters, digits, - and _) and answers the reference to write. */
  store(name: string, value: string): Promise<SecretReference>;
}

export class ConfigFileWriter {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Applies `change` to the file; answers the validated config now in it. Throws `ConfigError` (nothing written). */
  edit(change: (doc: Document, secrets: SecretStore) => Promise<void> | void): Promise<Config> {
    const run = this.queue.then(() => this.apply(change));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(
    change: (doc: Document, secrets: SecretStore) => Promise<void> | void,
  ): Promise<Config> {
    const file = resolve(this.file);
    const baseDir = dirname(file);
    const before = await readFile(file, "utf8");
    const doc = parseDocument(before, { keepSourceTokens: false });
    const written: { path: string; previous: string | undefined }[] = [];
    const secrets: SecretStore = {
      store: async (name, value) => {
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error(`not a secret name: ${name}`);
        const dir = join(baseDir, SECRETS_DIR);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const path = join(dir, name);
        const previous = await readFile(path, "utf8").catch(() => undefined);
        written.push({ path, previous });
        await writeFile(path, value, { mode: 0o600 });
        await chmod(path, 0o600);
        return { file: `${SECRETS_DIR}/${name}` };
      },
    };
    try {
      await change(doc, secrets);
      const text = doc.toString();
      const config = parseConfig(text, { env: this.env, source: this.file, baseDir });
      await writeFile(`${file}.previous`, before, { mode: (await stat(file)).mode & 0o777 });
      const temporary = `${file}.${randomBytes(4).toString("hex")}.tmp`;
      await writeFile(temporary, text, { mode: (await stat(file)).mode & 0o777 });
      await rename(temporary, file);
      return config;
    } catch (error) {
      // The secrets of an edit that is not kept are put back as they were.
      for (const { path, previous } of written.reverse())
        await (previous === undefined
          ? rm(path, { force: true })
          : writeFile(path, previous, { mode: 0o600 }));
      throw error;
    }
  }
}
