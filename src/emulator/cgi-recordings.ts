/**
 * The SD card over CGI (reference §2.8): mediaFileFind.cgi (factory.create, findFile, findNextFile, close,
 * destroy) and `RPC_Loadfile/<path>`.
 *
 * Quirks kept: `factory.close` and `factory.destroy` are answered HTTP 200 with
 * `Error\r\nErrorID=2, Detail=Invalid Request!` (python-amcrest test_media), the "200 with an Error body"
 * clients must treat as a failure; a download of a path that is no file is HTTP 200 with
 * `Error\r\nBad Request!` where the bytes would be (aiodahua tests, loadfile with nothing in range).
 */
import type { KvEntry } from "../protocol/kv.ts";
import {
  type CameraHandler,
  percentDecode,
  replyBody,
  replyKv,
  replyOk,
  replyRejected,
  replyUnsupported,
} from "./cgi-request.ts";

export const handleMediaFileFind: CameraHandler = (camera, { res, action, params }) => {
  const card = camera.sdCard;
  const object = Number(params.get("object") ?? Number.NaN);
  switch (action) {
    case "factory.create": {
      const id = card.create();
      return id === undefined ? replyRejected(res) : replyKv(res, [["result", String(id)]]);
    }
    case "findFile": {
      const start = params.get("condition.StartTime");
      const end = params.get("condition.EndTime");
      if (!start || !end) return replyRejected(res);
      const types = [...params.entries()]
        .filter(([key]) => key.startsWith("condition.Types["))
        .map(([, v]) => v);
      return card.find(object, start, end, types) ? replyOk(res) : replyRejected(res);
    }
    case "findNextFile": {
      const page = card.next(object, Number(params.get("count") ?? 100));
      if (!page) return replyRejected(res);
      const entries: KvEntry[] = [["found", String(page.length)]];
      page.forEach((item, i) => {
        const bytes = card.file(item.path)?.length ?? 0;
        entries.push(
          [`items[${i}].Channel`, String(item.channel)],
          [`items[${i}].Cluster`, "0"],
          [`items[${i}].Disk`, "0"],
          [`items[${i}].EndTime`, item.endTime],
          ...item.events.map((code, n): KvEntry => [`items[${i}].Events[${n}]`, code]),
          [`items[${i}].FilePath`, item.path],
          ...item.flags.map((flag, n): KvEntry => [`items[${i}].Flags[${n}]`, flag]),
          [`items[${i}].Length`, String(bytes)],
          [`items[${i}].Partition`, "0"],
          [`items[${i}].StartTime`, item.startTime],
          [`items[${i}].Type`, "dav"],
          [`items[${i}].VideoStream`, "Main"],
        );
      });
      return replyKv(res, entries);
    }
    case "close":
      return card.close(object) ? replyOk(res) : replyRejected(res);
    case "destroy":
      return card.destroy(object) ? replyOk(res) : replyRejected(res);
    case "factory.close":
    case "factory.destroy":
      return replyRejected(res);
    default:
      return replyUnsupported(res, camera.profile.errorStyle);
  }
};

export const RPC_LOADFILE = "/cgi-bin/RPC_Loadfile";

/**
 * `GET /cgi-bin/RPC_Loadfile/<absolute path>` (so `RPC_Loadfile//mnt/sd/...`, python-amcrest): the file's
 * bytes as they are on the card. With one slash the path is relative and names nothing.
 */
export const handleRpcLoadfile: CameraHandler = (camera, { res, path }) => {
  const bytes = camera.sdCard.file(percentDecode(path.slice(`${RPC_LOADFILE}/`.length)));
  if (!bytes) return replyBody(res, 200, "Error\r\nBad Request!\r\n");
  replyBody(res, 200, bytes, "application/octet-stream");
};
