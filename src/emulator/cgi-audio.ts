/**
 * `audio.cgi?action=postAudio&httptype=singlepart&channel=1` (reference dahua-cgi.md §2.11): a POST whose
 * body is G.711 (`Content-Type: Audio/G.711A` or `Audio/G.711Mu`) played on the speaker until the client
 * closes the connection; clients send a large fixed `Content-Length` (9999999) because the firmware refuses
 * chunked bodies. The camera answers 200 as soon as it accepts the talk. `getAudio` (the microphone) is not
 * emulated; a GET to audio.cgi is what reboots a Lorex E891AB (aiodahua), so it is simply refused here.
 */
import type { EmulatedCamera } from "./camera.ts";
import { type CgiRequest, replyBody, replyRejected } from "./cgi-request.ts";

const CODECS = new Set(["audio/g.711a", "audio/g.711mu"]);

export function handleAudio(camera: EmulatedCamera, { req, res, action, params }: CgiRequest): void {
  if (action !== "postAudio" || req.method !== "POST") {
    replyRejected(res);
    return;
  }
  const codec = String(req.headers["content-type"] ?? "").toLowerCase();
  const channel = Number(params.get("channel") ?? "1");
  if (!CODECS.has(codec) || !Number.isInteger(channel) || channel < 1 || channel > camera.profile.channels) {
    replyRejected(res);
    return;
  }
  if (req.headers["transfer-encoding"] !== undefined) {
    replyBody(res, 400, "Error\r\nBad Request!\r\n");
    return;
  }
  const talk = camera.speaker.start(codec === "audio/g.711a" ? "G.711A" : "G.711Mu", channel);
  res.writeHead(200, { "Content-Type": "text/plain;charset=utf-8", Connection: "close" });
  res.flushHeaders();
  req.on("data", (chunk: Buffer) => talk.add(chunk));
  const end = () => {
    talk.end();
    if (!res.writableEnded) res.end("OK\r\n");
  };
  req.once("end", end);
  req.once("close", end);
  req.socket.once("close", end);
}
