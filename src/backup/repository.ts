/**
 * The backup repository: an ordinary git repository (isomorphic-git, no git binary needed) with one file per
 * camera, `<camera>.json`. `git log`, `git diff` and `git fsck` work on it; `push` sends it to a remote the
 * owner provides. Operations are serialised: one writer at a time.
 */
import * as fs from "node:fs";
import { join } from "node:path";
import type { default as Git } from "isomorphic-git";

export interface BackupCommit {
  commit: string;
  time: string;
  /** The commit's subject line. */
  message: string;
  /** The config sections the commit changed (its `Camgate-Sections` trailer; none for a first backup). */
  sections: string[];
}

/** What a backup commit says: a subject for people, the changed sections as a git trailer for programs. */
export interface BackupMessage {
  subject: string;
  sections: readonly string[];
}

const AUTHOR = { name: "camgate", email: "camgate@localhost" };
const SECTIONS_TRAILER = "Camgate-Sections";

export function formatBackupMessage(message: BackupMessage): string {
  return message.sections.length > 0
    ? `${message.subject}\n\n${SECTIONS_TRAILER}: ${message.sections.join(", ")}\n`
    : `${message.subject}\n`;
}

/**
 * The subject and trailers of a commit message, as `git interpret-trailers --parse` reads them: the trailers
 * are the `Key: value` lines of the last paragraph, when there is more than one paragraph.
 */
export function parseCommitMessage(text: string): { subject: string; trailers: Map<string, string> } {
  const paragraphs = text.trim().split(/\n\s*\n/);
  const subject = (paragraphs[0] ?? "").split("\n")[0] ?? "";
  const trailers = new Map<string, string>();
  const last = paragraphs.length > 1 ? paragraphs[paragraphs.length - 1] : undefined;
  const lines = last?.split("\n") ?? [];
  if (lines.length > 0 && lines.every((line) => /^[A-Za-z0-9-]+: /.test(line))) {
    for (const line of lines) {
      const colon = line.indexOf(": ");
      trailers.set(line.slice(0, colon), line.slice(colon + 2).trim());
    }
  }
  return { subject, trailers };
}

type GitApi = typeof Git;

let loaded: Promise<GitApi> | undefined;

/** isomorphic-git, loaded with the first backup operation (a camgate with backups off does not load it). */
function loadGit(): Promise<GitApi> {
  loaded ??= import("isomorphic-git").then((module) => module.default);
  return loaded;
}

export class BackupRepository {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {}

  private serial<T>(work: (git: GitApi) => Promise<T>): Promise<T> {
    const result = this.queue.then(async () => work(await loadGit()));
    // The caller gets the failure through `result`; the queue only needs to know the work is over.
    this.queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  init(): Promise<void> {
    return this.serial(async (git) => {
      fs.mkdirSync(this.dir, { recursive: true });
      if (!fs.existsSync(join(this.dir, ".git")))
        await git.init({ fs, dir: this.dir, defaultBranch: "main" });
    });
  }

  /** Writes and commits `<name>` when its content changed; the new commit's id, or undefined. */
  commitFile(name: string, content: string, message: BackupMessage): Promise<string | undefined> {
    return this.serial(async (git) => {
      fs.writeFileSync(join(this.dir, name), content);
      const status = await git.status({ fs, dir: this.dir, filepath: name });
      if (status === "unmodified") return undefined;
      await git.add({ fs, dir: this.dir, filepath: name });
      return git.commit({
        fs,
        dir: this.dir,
        message: formatBackupMessage(message),
        author: AUTHOR,
        committer: AUTHOR,
      });
    });
  }

  /** Commits that changed `<name>`, newest first. */
  history(name: string, limit = 100): Promise<BackupCommit[]> {
    return this.serial(async (git) => {
      if (!(await this.hasCommits(git))) return [];
      const entries = await git
        .log({ fs, dir: this.dir, filepath: name, depth: limit, force: true })
        .catch(notFound(() => []));
      return entries.map((entry) => {
        const { subject, trailers } = parseCommitMessage(entry.commit.message);
        const sections = trailers.get(SECTIONS_TRAILER);
        return {
          commit: entry.oid,
          time: new Date(entry.commit.committer.timestamp * 1000).toISOString(),
          message: subject,
          sections: sections ? sections.split(/,\s*/) : [],
        };
      });
    });
  }

  /** The file as of a commit (or HEAD), or undefined if it did not exist there. */
  read(name: string, ref = "HEAD"): Promise<string | undefined> {
    return this.serial(async (git) => {
      if (!(await this.hasCommits(git))) return undefined;
      const oid = await git
        .resolveRef({ fs, dir: this.dir, ref })
        .catch(
          notFound(() => git.expandOid({ fs, dir: this.dir, oid: ref }).catch(notFound(() => undefined))),
        );
      if (oid === undefined) return undefined;
      const { blob } = await git
        .readBlob({ fs, dir: this.dir, oid, filepath: name })
        .catch(notFound(() => ({ blob: undefined })));
      return blob === undefined ? undefined : Buffer.from(blob).toString("utf8");
    });
  }

  /** Pushes `main` to a remote the owner provides (`backup.remote`, https with optional credentials). */
  push(url: string, username?: string, password?: string): Promise<void> {
    return this.serial(async (git) => {
      const { default: http } = await import("isomorphic-git/http/node");
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

  private async hasCommits(git: GitApi): Promise<boolean> {
    return git.resolveRef({ fs, dir: this.dir, ref: "HEAD" }).then(
      () => true,
      notFound(() => false),
    );
  }
}

/** A rejection handler that turns git's "not found" (no such ref, commit or file) into `fallback()`. */
function notFound<T>(fallback: () => T | Promise<T>): (error: unknown) => T | Promise<T> {
  return (error) => {
    // isomorphic-git's errors carry their class's name as `code` (Errors.NotFoundError.code).
    if (error instanceof Error && (error as Error & { code?: unknown }).code === "NotFoundError")
      return fallback();
    throw error;
  };
}
