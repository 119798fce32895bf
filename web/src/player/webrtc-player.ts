/**
 * The WebRTC player: a receive-only peer connection, its offer POSTed to camgate (WHEP style, all
 * candidates in one round trip, no STUN server: camgate and the browser meet on host candidates), the
 * answer applied, the remote stream on the `<video>`. Reconnects when the connection fails or pictures
 * stop (a camera reboot), and DELETEs its session when stopped.
 */
import { LivePlayer } from "./live-player.ts";

const STALL_MS = 5000;
/**
 * The offer goes out after its first host candidates or this long, whichever comes first: candidates that
 * come later are not needed, since camgate's answer carries its own and the browser's checks reach it
 * (the server learns the browser's address from them, as with mDNS-only offers). Measured: waiting for
 * "complete" cost ~250 ms of a first frame in headless Chromium.
 */
const GATHER_MS = 150;
const SETTLE_MS = 30;

export class WebRtcPlayer extends LivePlayer {
  private pc: RTCPeerConnection | undefined;
  private location: string | undefined;
  private frames = 0;
  private lastFrameAt = 0;

  /** WebRTC shows pictures as they come; its own jitter buffer is not visible here. */
  delay(): number | undefined {
    return undefined;
  }

  protected async connect(): Promise<void> {
    this.teardown();
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.ontrack = (event) => {
      // A live camera wants the smallest jitter buffer the browser allows (default: adaptive, which grows
      // after a burst); where the attribute is missing nothing changes.
      const receiver = event.receiver as RTCRtpReceiver & { jitterBufferTarget?: number | null };
      if ("jitterBufferTarget" in receiver) receiver.jitterBufferTarget = 0;
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      if (this.video.srcObject !== stream) this.video.srcObject = stream;
      void this.video.play().catch(() => undefined);
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      if (pc.connectionState === "failed" || pc.connectionState === "closed")
        this.retry("the connection was lost");
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      // Host candidates (there is no STUN server to wait for) come together: shortly after the first one
      // the offer is as complete as it gets, even if the browser has not said "complete" yet.
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === "complete") return resolve();
        const cap = window.setTimeout(resolve, GATHER_MS);
        let settle: number | undefined;
        pc.addEventListener("icecandidate", (event) => {
          if (!event.candidate) return resolve();
          window.clearTimeout(settle);
          settle = window.setTimeout(resolve, SETTLE_MS);
        });
        pc.addEventListener("icegatheringstatechange", () => {
          if (pc.iceGatheringState === "complete") {
            window.clearTimeout(cap);
            resolve();
          }
        });
      });
      const response = await fetch(this.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/sdp", "X-Camgate-Csrf": "1" },
        body: pc.localDescription?.sdp ?? "",
      });
      if (this.pc !== pc) return;
      if (!response.ok) {
        const problem = (await response.json().catch(() => ({}))) as { detail?: string; code?: string };
        if (
          response.status === 422 ||
          response.status === 400 ||
          response.status === 403 ||
          response.status === 404
        ) {
          this.setState("failed", problem.detail ?? `camgate answered ${response.status}`);
          return;
        }
        this.retry(problem.detail ?? `camgate answered ${response.status}`);
        return;
      }
      const location = response.headers.get("Location");
      this.location = location ? new URL(location, window.location.href).pathname : undefined;
      await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    } catch (error) {
      if (this.pc === pc) this.retry(error instanceof Error ? error.message : String(error));
    }
  }

  protected tick(): void {
    if (this.stopped || !this.pc) return;
    const frames = this.video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0;
    if (frames > this.frames) {
      this.lastFrameAt = Date.now();
      if (this.state !== "playing") this.playing();
    }
    this.frames = frames;
    if (this.state === "playing" && Date.now() - this.lastFrameAt > STALL_MS)
      this.retry("no pictures for 5 s");
  }

  protected teardown(): void {
    const pc = this.pc;
    this.pc = undefined;
    this.frames = 0;
    if (pc) {
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      pc.close();
    }
    if (this.location) {
      void fetch(this.location, {
        method: "DELETE",
        credentials: "same-origin",
        headers: { "X-Camgate-Csrf": "1" },
      }).catch(() => undefined);
      this.location = undefined;
    }
    this.video.srcObject = null;
  }
}
