/**
 * The backup repository: an ordinary git repository (isomorphic-git, no git binary needed) with one file per
 * camera, `<camera>.json`. `git log`, `git diff` and `git fsck` work on it; `push` sends it to a remote the
 * owner provides. Operations are serialised: one writer at a time.
 */
import * as fs from "node:fs";
import { join } from "node:path";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";

export interface BackupCommit {
  commit: string;
  time: string;
  message: string;
}

const AUTHOR = { name: "camgate", email: "camgate@localhost" };

export class BackupRepository {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {}

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  init(): Promise<void> {
    return this.serial(async () => {
      fs.mkdirSync(this.dir, { recursive: true });
      if (!fs.existsSync(join(this.dir, ".git")))
        await git.init({ fs, dir: this.dir, defaultBranch: "main" });
    });
  }

  /** Writes and commits `<name>` when its content changed; the new commit's id, or undefined. */
  commitFile(name: string, content: string, message: string): Promise<string | undefined> {
    return this.serial(async () => {
      fs.writeFileSync(join(this.dir, name), content);
      const status = await git.status({ fs, dir: this.dir, filepath: name });
      if (status === "unmodified") return undefined;
      await git.add({ fs, dir: this.dir, filepath: name });
      return git.commit({ fs, dir: this.dir, message, author: AUTHOR, committer: AUTHOR });
    });
  }

  /** Commits that changed `<name>`, newest first. */
  history(name: string, limit = 100): Promise<BackupCommit[]> {
    return this.serial(async () => {
      if (!(await this.hasCommits())) return [];
      const entries = await git
        .log({ fs, dir: this.dir, filepath: name, depth: limit, force: true })
        .catch(() => []);
      return entries.map((entry) => ({
        commit: entry.oid,
        time: new Date(entry.commit.committer.timestamp * 1000).toISOString(),
        message: entry.commit.message.trim(),
      }));
    });
  }

  /** The file as of a commit (or HEAD), or undefined if it did not exist there. */
  read(name: string, ref = "HEAD"): Promise<string | undefined> {
    return this.serial(async () => {
      if (!(await this.hasCommits())) return undefined;
      try {
        const oid = await git
          .resolveRef({ fs, dir: this.dir, ref })
          .catch(() => git.expandOid({ fs, dir: this.dir, oid: ref }));
        const { blob } = await git.readBlob({ fs, dir: this.dir, oid, filepath: name });
        return Buffer.from(blob).toString("utf8");
      } catch {
        return undefined;
      }
    });
  }

  /** Pushes `main` to a remote the owner provides (`backup.remote`, https with optional credentials). */
  push(url: string, username?: string, password?: string): Promise<void> {
    return this.serial(async () => {
      await git.push({
        fs,
        http,
        dir: this.dir,
        url,
        ref: "main",
        ...(username !== undefined
          ? { onAuth: () => ({ username, ...(password !== undefined ? { password } : {}) }) }
          : {}),
      });
    });
  }

  private async hasCommits(): Promise<boolean> {
    return git.resolveRef({ fs, dir: this.dir, ref: "HEAD" }).then(
      () => true,
      () => false,
    );
  }
}
