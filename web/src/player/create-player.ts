/**
 * The one place a page picks how a stream plays: WebRTC when asked, the browser's own HLS where there is no
 * MSE (iPhones before iOS 17.1, TVs), else MSE over camgate's WebSocket. The camera page and the live wall
 * both start their players here.
 */
import { HlsPlayer, wantsNativeHls } from "./hls-player.ts";
import type { PlayerEvents } from "./live-player.ts";
import { MsePlayer } from "./mse-player.ts";
import { WebRtcPlayer } from "./webrtc-player.ts";

export interface Player {
  start(): void;
  stop(): void;
  delay(): number | undefined;
}

export type PlayedStream = "main" | "webrtc" | "sub";

export function liveUrl(camera: string, stream: PlayedStream): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const name = stream === "sub" ? "sub" : "main";
  return `${scheme}//${location.host}/api/v1/cameras/${encodeURIComponent(camera)}/live?stream=${name}`;
}

/** Whether this browser can play camgate's H.264 at all (MSE, or its own HLS). */
export function canPlayLive(element: HTMLVideoElement): boolean {
  const scope = window as unknown as { MediaSource?: unknown; ManagedMediaSource?: unknown };
  return scope.MediaSource !== undefined || scope.ManagedMediaSource !== undefined || wantsNativeHls(element);
}

export function createPlayer(
  element: HTMLVideoElement,
  camera: string,
  stream: PlayedStream,
  events: PlayerEvents,
): Player {
  const path = `/api/v1/cameras/${encodeURIComponent(camera)}`;
  if (stream === "webrtc") return new WebRtcPlayer(element, `${path}/webrtc?stream=main`, events);
  if (wantsNativeHls(element))
    return new HlsPlayer(element, `${path}/hls/index.m3u8?stream=${stream}`, events);
  return new MsePlayer(element, liveUrl(camera, stream), events);
}
