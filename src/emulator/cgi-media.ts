/** snapshot.cgi and mjpg/video.cgi of the emulated camera (reference §2.4, §2.5). */

import { type CameraHandler, intParam, replyBody, replyUnsupported } from "./cgi-request.ts";
import { BOUNDARY, jpegPartHeader } from "./event-framing.ts";
import type { RenderedFrame } from "./frame-renderer.ts";

export const handleSnapshot: CameraHandler = async (camera, { res, params }) => {
  // URL channels are 1-based; without one the device uses its first channel (python-amcrest).
  const channel = intParam(params, "channel", 1);
  if (!Number.isInteger(channel) || channel < 1 || channel > camera.profile.channels) {
    return replyUnsupported(res, camera.profile.errorStyle);
  }
  const frame = await camera.snapshot(channel);
  replyBody(res, 200, frame.jpeg, "image/jpeg");
};

export const handleMjpeg: CameraHandler = (camera, { res, params }) => {
  const channel = intParam(params, "channel", 1);
  const subtype = intParam(params, "subtype", 0);
  const format =
    Number.isInteger(channel) && channel >= 1 ? camera.streamFormat(channel, subtype) : undefined;
  const video = format?.Video;
  // Only a stream encoded as MJPG can be served; Amcrest dropped MJPEG from the main stream around
  // 2.420.AC00.15, so `subtype=0` fails on default settings (python-amcrest, IP2M-841B).
  if (!video || typeof video !== "object" || Array.isArray(video) || video.Compression !== "MJPG") {
    return replyUnsupported(res, camera.profile.errorStyle);
  }
  res.removeHeader("Transfer-Encoding");
  res.writeHead(200, {
    "Content-Type": `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
    Connection: "close",
    "Cache-Control": "no-cache",
  });
  res.flushHeaders();
  let sent = 0;
  const dropAfter = camera.dropStreamsAfterFrames;
  const onFrame = (frame: RenderedFrame): void => {
    if (camera.stalled || res.destroyed) return;
    // A device does not queue frames for a slow reader: a frame that does not fit is skipped.
    if (res.writableNeedDrain) return;
    res.write(jpegPartHeader(frame.jpeg.length));
    res.write(frame.jpeg);
    res.write("\r\n");
    sent++;
    const limit = camera.dropStreamsAfterFrames ?? dropAfter;
    if (limit !== undefined && sent >= limit) res.end();
  };
  const unsubscribe = camera.frameSource(channel, subtype).subscribe(onFrame);
  res.on("close", unsubscribe);
};
