/**
 * Hold to talk: while the button is held, the microphone goes to camgate's talk WebSocket as 16-bit PCM at
 * 8 kHz (an AudioContext at 8 kHz resamples the microphone; a ScriptProcessor hands the samples over, since
 * an AudioWorklet module would need a script URL the UI's content security policy does not allow).
 * camgate plays it on the camera's speaker (docs/onvif.md, "Talking through a camera").
 */
import { useEffect, useRef, useState } from "preact/hooks";

type TalkState = "idle" | "starting" | "talking" | "busy" | "failed";

const LABELS: Record<TalkState, string> = {
  idle: "",
  starting: "Connecting…",
  talking: "Talking…",
  busy: "Someone else is talking through this camera",
  failed: "Talking did not start (microphone or camera refused)",
};

interface Talk {
  socket: WebSocket;
  stream: MediaStream | undefined;
  context: AudioContext | undefined;
}

/**
 * `rang`: the page was opened from a doorbell's notification (`/camera/<id>?answer=1`): the button is said
 * to be for answering, brought into view and focused, so the owner holds it at once.
 */
export function TalkButton({ camera, rang = false }: { camera: string; rang?: boolean }) {
  const [state, setState] = useState<TalkState>("idle");
  const talk = useRef<Talk | undefined>(undefined);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!rang) return;
    button.current?.scrollIntoView({ block: "center" });
    button.current?.focus();
  }, [rang]);

  const stop = () => {
    const current = talk.current;
    talk.current = undefined;
    if (!current) return;
    if (current.socket.readyState === WebSocket.OPEN) current.socket.send(JSON.stringify({ type: "stop" }));
    current.socket.close();
    for (const track of current.stream?.getTracks() ?? []) track.stop();
    void current.context?.close();
    setState((was) => (was === "talking" || was === "starting" ? "idle" : was));
  };

  const start = async () => {
    if (talk.current) return;
    setState("starting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(
      `${scheme}://${location.host}/api/v1/cameras/${encodeURIComponent(camera)}/talk`,
    );
    socket.binaryType = "arraybuffer";
    const current: Talk = { socket, stream: undefined, context: undefined };
    talk.current = current;
    socket.onclose = (event) => {
      if (event.code === 4409) setState("busy");
      else if (event.code !== 1000 && event.code !== 1005 && talk.current === current) setState("failed");
      if (talk.current === current) stop();
    };
    socket.onmessage = async (event) => {
      const message = JSON.parse(String(event.data)) as { type: string; value: string };
      if (message.type !== "talk" || message.value !== "open" || talk.current !== current) return;
      try {
        current.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
        current.context = new AudioContext({ sampleRate: 8000 });
        const source = current.context.createMediaStreamSource(current.stream);
        const processor = current.context.createScriptProcessor(1024, 1, 1);
        processor.onaudioprocess = (audio) => {
          const samples = audio.inputBuffer.getChannelData(0);
          const pcm = new DataView(new ArrayBuffer(samples.length * 2));
          for (let i = 0; i < samples.length; i++)
            pcm.setInt16(i * 2, Math.max(-1, Math.min(1, samples[i] ?? 0)) * 0x7fff, true);
          if (socket.readyState === WebSocket.OPEN) socket.send(pcm.buffer);
        };
        source.connect(processor);
        // A ScriptProcessor runs only while connected to the output; it writes nothing, so nothing is heard.
        processor.connect(current.context.destination);
        setState("talking");
      } catch {
        setState("failed");
        stop();
      }
    };
  };

  return (
    <div class={`talk${rang ? " rang" : ""}`}>
      {rang && state === "idle" && (
        <p class="rang-note" role="status">
          Someone rang: hold the button to answer.
        </p>
      )}
      <button
        type="button"
        ref={button}
        class={state === "talking" ? "talking" : rang ? "ready" : ""}
        onPointerDown={(e) => {
          (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
          void start();
        }}
        onPointerUp={stop}
        onPointerCancel={stop}
      >
        Hold to talk
      </button>
      {state !== "idle" && <span class="talk-state">{LABELS[state]}</span>}
    </div>
  );
}
