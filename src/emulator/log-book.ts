/**
 * The camera's own log, as `log.cgi` exposes it (reference §2.9): CGI logins appear as `Type=Login` items with
 * `Detail.Type=CGI`, which is why a client that re-challenges every call fills it (and why tests count them).
 * Bounded like the device's flash log: the oldest entries go first.
 */

export interface LogEntry {
  /** Camera wall-clock time, `YYYY-MM-DD HH:MM:SS`. */
  time: string;
  type: string;
  user: string;
  level: number;
  detail: Record<string, string>;
}

export interface LogSearch {
  entries: LogEntry[];
  position: number;
}

const MAX_ENTRIES = 10_000;
const MAX_SEARCHES = 16;

export class LogBook {
  private readonly entries: LogEntry[] = [];
  private readonly searches = new Map<number, LogSearch>();
  private nextToken = 17;
  /** Fault: doFind answers the same first page again and again, as firmware that ignores paging would. */
  ignorePagination = false;

  add(entry: LogEntry): void {
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
  }

  all(): readonly LogEntry[] {
    return this.entries;
  }

  count(type?: string): number {
    return type === undefined ? this.entries.length : this.entries.filter((e) => e.type === type).length;
  }

  /** Times compare as strings because the format is fixed-width and zero-padded. */
  startFind(start: string | undefined, end: string | undefined): number {
    const token = this.nextToken++;
    const entries = this.entries.filter(
      (e) => (start === undefined || e.time >= start) && (end === undefined || e.time <= end),
    );
    this.searches.set(token, { entries, position: 0 });
    if (this.searches.size > MAX_SEARCHES) {
      const oldest = this.searches.keys().next().value;
      if (oldest !== undefined) this.searches.delete(oldest);
    }
    return token;
  }

  doFind(token: number, count: number): LogEntry[] | undefined {
    const search = this.searches.get(token);
    if (!search) return undefined;
    const page = search.entries.slice(search.position, search.position + Math.max(1, Math.min(count, 1024)));
    if (!this.ignorePagination) search.position += page.length;
    return page;
  }

  stopFind(token: number): boolean {
    return this.searches.delete(token);
  }

  openSearches(): number {
    return this.searches.size;
  }
}
