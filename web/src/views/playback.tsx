/**
 * Synchronised playback: two to four cameras side by side from one time cursor. Each plays camgate's export
 * of its footage from the cursor (`export.mp4`, which starts at the keyframe at or before it and says the
 * capture time of its first picture in `X-Camgate-Export-Start`), placed so each shows the cursor's moment;
 * while they play, the first camera leads and the others follow its capture time: a small drift is taken
 * back by playing a little faster or slower, a larger one by a seek. `/playback?cameras=a,b&at=<ms>`.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { cameras } from "../state.ts";

const MAX = 4;
/** Drift taken back by the playback rate, and beyond which a follower seeks. */
const NUDGE_S = 0.02;
const SEEK_S = 0.12;

interface Source {
  camera: string;
  url: string;
  /** Capture time (ms) of the export's first picture; undefined until read, null without footage. */
  startedAt: number | null | undefined;
}

function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

export function PlaybackView() {
  const query = new URLSearchParams(location.search);
  const [chosen, setChosen] = useState<string[]>(() => {
    const asked = (query.get("cameras") ?? "").split(",").filter(Boolean);
    return (asked.length > 0 ? asked : cameras.value.slice(0, 2).map((c) => c.id)).slice(0, MAX);
  });
  const [at, setAt] = useState<number>(() => Number(query.get("at")) || Date.now() - 5 * 60_000);
  const [sources, setSources] = useState<Source[]>([]);
  const [playing, setPlaying] = useState(false);
  const videos = useRef<(HTMLVideoElement | null)[]>([]);

  // A new cursor or camera list: each camera's export from the cursor, and where its first picture is.
  useEffect(() => {
    history.replaceState(null, "", `/playback?cameras=${chosen.join(",")}&at=${Math.floor(at)}`);
    const to = Math.min(at + 30 * 60_000, Date.now());
    const next = chosen.map((camera) => ({
      camera,
      url: `/api/v1/cameras/${encodeURIComponent(camera)}/export.mp4?from=${Math.floor(at)}&to=${Math.floor(to)}`,
      startedAt: undefined as number | null | undefined,
    }));
    setSources(next);
    setPlaying(false);
    let current = true;
    void Promise.all(
      next.map(async (source) => {
        const answer = await fetch(source.url, { headers: { Range: "bytes=0-0" } }).catch(() => undefined);
        await answer?.arrayBuffer().catch(() => undefined);
        const header = answer?.ok ? answer.headers.get("x-camgate-export-start") : null;
        return { ...source, startedAt: header ? Date.parse(header) : null };
      }),
    ).then((read) => {
      if (current) setSources(read);
    });
    return () => {
      current = false;
    };
  }, [chosen.join(","), at]);

  const ready = sources.length > 0 && sources.every((s) => s.startedAt !== undefined);
  const placeAll = () =>
    sources.forEach((source, i) => {
      const video = videos.current[i];
      if (video && typeof source.startedAt === "number")
        video.currentTime = Math.max(0, (at - source.startedAt) / 1000);
    });

  // The followers keep to the leader's capture time.
  useEffect(() => {
    if (!playing) return undefined;
    const timer = setInterval(() => {
      const leader = videos.current[0];
      const lead = sources[0]?.startedAt;
      if (!leader || typeof lead !== "number") return;
      const clock = lead + leader.currentTime * 1000;
      sources.forEach((source, i) => {
        const video = videos.current[i];
        if (i === 0 || !video || typeof source.startedAt !== "number") return;
        const target = (clock - source.startedAt) / 1000;
        const drift = video.currentTime - target;
        if (Math.abs(drift) > SEEK_S) {
          video.currentTime = Math.max(0, target);
          video.playbackRate = 1;
        } else video.playbackRate = Math.abs(drift) > NUDGE_S ? (drift > 0 ? 0.95 : 1.05) : 1;
      });
    }, 200);
    return () => clearInterval(timer);
  }, [playing, sources]);

  return (
    <section class="playback-view">
      <h1>Side by side</h1>
      <div class="filters">
        <fieldset class="cameras-choice">
          <legend>Cameras (up to {MAX})</legend>
          {cameras.value.map((c) => (
            <label key={c.id} class="check">
              <input
                type="checkbox"
                checked={chosen.includes(c.id)}
                disabled={!chosen.includes(c.id) && chosen.length >= MAX}
                onChange={(e) =>
                  setChosen(
                    (e.currentTarget as HTMLInputElement).checked
                      ? [...chosen, c.id]
                      : chosen.filter((id) => id !== c.id),
                  )
                }
              />
              {c.name}
            </label>
          ))}
        </fieldset>
        <label>
          From
          <input
            type="datetime-local"
            step={1}
            value={localInput(at)}
            onChange={(e) => {
              const ms = new Date((e.currentTarget as HTMLInputElement).value).getTime();
              if (Number.isFinite(ms)) setAt(ms);
            }}
          />
        </label>
        <button
          type="button"
          disabled={!ready}
          onClick={() => {
            const all = videos.current.filter((v): v is HTMLVideoElement => v !== null);
            if (playing) {
              for (const v of all) v.pause();
              // Paused, every camera shows the leader's moment exactly (playing, they follow within a nudge).
              const lead = sources[0]?.startedAt;
              const leader = videos.current[0];
              if (leader && typeof lead === "number") {
                const clock = lead + leader.currentTime * 1000;
                sources.forEach((source, i) => {
                  const video = videos.current[i];
                  if (i > 0 && video && typeof source.startedAt === "number")
                    video.currentTime = Math.max(0, (clock - source.startedAt) / 1000);
                });
              }
              setPlaying(false);
              return;
            }
            placeAll();
            void Promise.all(all.map((v) => v.play())).then(() => setPlaying(true));
          }}
        >
          {playing ? "Pause" : "Play together"}
        </button>
      </div>
      <ul class="side-by-side" data-count={sources.length}>
        {sources.map((source, i) => (
          <li key={source.camera} data-camera={source.camera}>
            <strong>{cameras.value.find((c) => c.id === source.camera)?.name ?? source.camera}</strong>
            {source.startedAt === null ? (
              <p class="muted">No footage of this camera from this moment.</p>
            ) : (
              <video
                ref={(element) => {
                  videos.current[i] = element;
                }}
                src={source.url}
                muted
                playsInline
                preload="auto"
                data-started-at={source.startedAt ?? undefined}
              />
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
