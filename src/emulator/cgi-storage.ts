/**
 * storageDevice.cgi of the emulated camera (reference §2.11): `getDeviceAllInfo` and `factory.getCollect`.
 *
 * As real cameras write it: sizes as floats (`TotalBytes=997703680.000000`), one device `/dev/mmc0` with one
 * partition `/mnt/sd`, `State=Success` and `IsError=false`. A failing card says `IsError=true` and
 * `State=Failure` (the pair published Dahua monitor fixtures show). With no card, `factory.getCollect`
 * answers an empty body (bcpearce fixtures); `getDeviceAllInfo` is assumed to do the same (no capture of it
 * without a card was found).
 */
import type { KvEntry } from "../protocol/kv.ts";
import { type CameraHandler, replyBody, replyKv, replyUnsupported } from "./cgi-request.ts";

const float = (n: number) => `${n}.000000`;

export const handleStorageDevice: CameraHandler = (camera, { res, action }) => {
  const card = camera.sdCard.condition;
  switch (action) {
    case "getDeviceAllInfo": {
      if (!card.present) return replyBody(res, 200, "");
      const entries: KvEntry[] = [
        ["list.info[0].Detail[0].IsError", String(card.failing)],
        ["list.info[0].Detail[0].Path", "/mnt/sd"],
        ["list.info[0].Detail[0].TotalBytes", float(card.totalBytes)],
        ["list.info[0].Detail[0].Type", "ReadWrite"],
        ["list.info[0].Detail[0].UsedBytes", float(card.usedBytes)],
        ["list.info[0].Name", "/dev/mmc0"],
        ["list.info[0].State", card.failing ? "Failure" : "Success"],
      ];
      return replyKv(res, entries);
    }
    case "factory.getCollect":
      return card.present ? replyKv(res, [["list[0]", "/dev/mmc0"]]) : replyBody(res, 200, "");
    default:
      return replyUnsupported(res, camera.profile.errorStyle);
  }
};
