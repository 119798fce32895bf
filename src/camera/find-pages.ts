/**
 * The paging every Dahua "find" shares (log.cgi doFind, mediaFileFind.cgi findNextFile): ask for the next
 * page until the camera says none is left (`found=0`, or no `items`). The loop is driven by what the camera
 * answers, so it is bounded three ways: a page count, a deadline, and progress (a camera that answers the
 * same page again ignores the paging and is not asked again). Opening and closing the find is the caller's.
 */
import { type JsonObject, kvToTree, parseKvLines } from "../protocol/kv.ts";

export interface FindPagesOptions {
  maxPages: number;
  deadlineMs: number;
  /** Told when the pages stopped before the camera said it was done, and why. */
  onCut?: ((reason: string) => void) | undefined;
}

/** Each page's items (`items[N].Field=...` as objects; uncoerced strings), page by page. */
export async function* findPages(
  next: () => Promise<string>,
  options: FindPagesOptions,
): AsyncGenerator<JsonObject[]> {
  const deadline = Date.now() + options.deadlineMs;
  let previous: string | undefined;
  for (let pages = 0; ; pages++) {
    if (pages >= options.maxPages) return options.onCut?.(`stopped after ${options.maxPages} pages`);
    if (Date.now() > deadline) return options.onCut?.("stopped at the search's deadline");
    const page = await next();
    if (page === previous)
      return options.onCut?.("the camera answered the same page twice (it ignores paging)");
    previous = page;
    const tree = kvToTree(parseKvLines(page), { coerce: false });
    const items = Array.isArray(tree.items) ? tree.items : [];
    if (Number(tree.found ?? 0) === 0 || items.length === 0) return;
    yield items.filter(
      (item): item is JsonObject => item !== null && typeof item === "object" && !Array.isArray(item),
    );
  }
}
