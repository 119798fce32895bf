/** The SD card's health in words, for the camera page. */
import type { Camera } from "../api.ts";

const GB = 1_000_000_000;

export function sdCardText(card: NonNullable<Camera["sdCard"]>): string {
  const size =
    card.totalBytes > 0
      ? `${(card.usedBytes / GB).toFixed(1)} of ${(card.totalBytes / GB).toFixed(1)} GB used` +
        (card.usedPercent === null ? "" : ` (${Math.round(card.usedPercent)}%)`)
      : "";
  switch (card.state) {
    case "ok":
      return size || "working";
    case "full":
      return `full: ${size} (it overwrites its oldest recordings if set to)`;
    case "error":
      return "failing: the camera reports an error on the card; replace or reformat it";
    case "missing":
      return "none found";
    case "unsupported":
      return "the camera does not report it";
  }
}
