/**
 * Which files on a camera are recordings: `RPC_Loadfile/<path>` serves any file the firmware can read (its
 * config, its password store), so camgate lets a viewer ask only for recordings under the SD card or an NVR's
 * disk (`/mnt/sd/...`, `/mnt/dvr/...`, python-amcrest test_media and reference §2.8), in the characters those
 * names use; anything else (another directory, a dot segment, any percent-escape) is not one.
 */
export function isRecordingPath(path: string): boolean {
  return (
    path.length <= 300 &&
    /^\/mnt\/(sd|dvr)\/[A-Za-z0-9_.@[\]/-]+\.(dav|mp4|jpg)$/.test(path) &&
    !path.split("/").some((segment) => segment === ".." || segment === ".")
  );
}
