/** eventManager.cgi of the emulated camera (reference §2.7). */
import { type CameraHandler, intParam, replyKv, replyUnsupported } from "./cgi-request.ts";
import { EVENT_STREAM_HEADERS } from "./event-framing.ts";

/** The codes a camera reports in getExposureEvents (bcpearce `exposure_events.json`, plus the PTZ-less basics). */
const EXPOSED_CODES = [
  "AlarmLocal",
  "AudioAnomaly",
  "AudioMutation",
  "CrossLineDetection",
  "CrossRegionDetection",
  "FaceDetection",
  "LoginFailure",
  "NTPAdjustTime",
  "SmartMotionHuman",
  "StorageFailure",
  "StorageLowSpace",
  "StorageNotExist",
  "TimeChange",
  "VideoBlind",
  "VideoLoss",
  "VideoMotion",
  "VideoMotionInfo",
];

export const handleEventManager: CameraHandler = (camera, { res, action, params }) => {
  const style = camera.profile.errorStyle;
  switch (action) {
    case "attach": {
      // `codes=[All]` or `[VideoMotion,AlarmLocal]`; brackets raw or %5B..%5D (decoded with the query).
      const match = /^\[(.*)\]$/.exec((params.get("codes") ?? "").trim());
      if (!match) return replyUnsupported(res, style);
      const list = (match[1] ?? "")
        .split(",")
        .map((c) => c.trim())
        .filter(Boolean);
      if (list.length === 0) return replyUnsupported(res, style);
      const codes = list.includes("All") ? "All" : new Set(list);
      const heartbeat = params.has("heartbeat") ? intParam(params, "heartbeat", 0) : undefined;
      if (heartbeat !== undefined && !(heartbeat >= 1 && heartbeat <= 60))
        return replyUnsupported(res, style);
      if (camera.hangUpEventStreams) {
        res.writeHead(200, EVENT_STREAM_HEADERS);
        res.end();
        return;
      }
      camera.events.attach(res, codes, heartbeat);
      return;
    }
    case "getEventIndexes": {
      const code = params.get("code") ?? "";
      const active = camera.events.activeIndexes(code);
      // Nothing active: firmware answers with an Error body, which python-amcrest maps to [] (reference §2.7).
      if (active.length === 0) return replyUnsupported(res, style);
      return replyKv(
        res,
        active.map((channel, i) => [`channels[${i}]`, String(channel)]),
      );
    }
    case "getExposureEvents":
      return replyKv(
        res,
        EXPOSED_CODES.map((code, i) => [`events[${i}]`, code]),
      );
    default:
      return replyUnsupported(res, style);
  }
};
