/** `codec,width,height` of the first video stream at a URL, as ffprobe (an independent reader) sees it. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { findTool } from "./system-tools.ts";

export const locateFfprobe = () => findTool("ffprobe", ["ffprobe"], ["-version"]);

export async function probeVideo(url: string): Promise<string> {
  const args = [
    "-v",
    "error",
    "-rw_timeout",
    "10000000",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,width,height",
    "-of",
    "csv=p=0",
    url,
  ];
  const { stdout } = await promisify(execFile)("ffprobe", args, { timeout: 20_000 });
  return stdout.trim();
}
