/**
 * One incident, as a notification's tap opens it (`/events?incident=<id>`): what happened, where and for how
 * long, its picture with the boxes of what the camera saw (a person, a vehicle: the camera's own AI), its
 * clip when it is made, its transitions, and the way to the live camera.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type CamEvent, type Incident } from "../api.ts";
import { cameras, canOperate, events, go } from "../state.ts";
import { ClipDetails, duration } from "./events.tsx";
import { EvidenceExport } from "./evidence-export.tsx";
import { IncidentTags } from "./incident-tags.tsx";

type Detail = Incident & { transitions: CamEvent[] };

const LABELS: Record<string, string> = {
  motion: "movement",
  human: "person",
  vehicle: "vehicle",
  "non-motor": "bicycle",
  animal: "animal",
  face: "face",
  other: "object",
};

/** Where camgate's motion detection saw movement (`data.boxes` of a `motion` transition), as objects. */
interface Drawn {
  type: string;
  id?: number;
  box?: { x: number; y: number; width: number; height: number };
}

function motionBoxes(event: CamEvent): Drawn[] {
  if (event.source !== "motion") return [];
  const data = event.data as { boxes?: unknown } | null;
  const boxes = data && typeof data === "object" ? data.boxes : undefined;
  if (!Array.isArray(boxes)) return [];
  return boxes.flatMap((entry: unknown) => {
    const box = entry as Partial<Record<"x" | "y" | "width" | "height", unknown>> | null;
    if (!box || typeof box !== "object") return [];
    const { x, y, width, height } = box;
    if (
      typeof x !== "number" ||
      typeof y !== "number" ||
      typeof width !== "number" ||
      typeof height !== "number"
    )
      return [];
    return [{ type: "motion", box: { x, y, width, height } }];
  });
}

/** The picture with a box per object (fractions of the picture, so any size of snapshot fits). */
export function BoxedSnapshot({ event }: { event: CamEvent }) {
  const boxes: Drawn[] = [...(event.objects ?? []), ...motionBoxes(event)].filter((o) => o.box);
  return (
    <figure class="boxed" data-testid="boxed-snapshot">
      {/* The boxes are drawn over the picture alone (not its caption): a frame of the picture's size. */}
      <div class="frame">
        <img src={`/api/v1/events/${event.id}/snapshot.jpg`} alt={`What the camera saw at ${event.code}`} />
        <svg viewBox="0 0 1 1" preserveAspectRatio="none" aria-hidden="true">
          {boxes.map((o, i) => (
            <rect
              key={`${o.id ?? i}`}
              class={`box box-${o.type}`}
              data-type={o.type}
              x={o.box?.x}
              y={o.box?.y}
              width={o.box?.width}
              height={o.box?.height}
            />
          ))}
        </svg>
      </div>
      {boxes.length > 0 && (
        <figcaption>
          {boxes.map((o) => LABELS[o.type] ?? o.type).join(", ")}
          {event.rule ? ` in ${event.rule}` : ""}
        </figcaption>
      )}
    </figure>
  );
}

export function IncidentView({ id, onClose }: { id: string; onClose: () => void }) {
  const [detail, setDetail] = useState<Detail | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  // Again when an event of this incident arrives (it ends, its clip is made).
  const latest = events.value.find((e) => e.incident === id)?.id;
  useEffect(() => {
    void api<Detail>(`/api/v1/incidents/${encodeURIComponent(id)}`).then(setDetail, (e: Error) =>
      setError(e.message),
    );
  }, [id, latest]);
  if (error) return <p class="error">{error}</p>;
  if (!detail) return <p>Loading…</p>;
  const camera = cameras.value.find((c) => c.id === detail.camera);
  const pictured =
    detail.transitions.find((t) => t.id === detail.snapshotEvent && t.objects?.length) ??
    detail.transitions.find((t) => t.snapshot && motionBoxes(t).length > 0) ??
    detail.transitions.find((t) => t.snapshot);
  return (
    <article class="incident-view" data-incident={detail.id}>
      <header>
        <h2>
          {detail.code} · {camera?.name ?? detail.camera}
        </h2>
        <button type="button" class="link" onClick={onClose}>
          Close
        </button>
      </header>
      <p>
        <time>{new Date(detail.start).toLocaleString()}</time> ·{" "}
        {detail.ongoing ? "ongoing" : detail.durationMs !== null ? duration(detail.durationMs) : ""}{" "}
        <IncidentTags incident={detail} />
      </p>
      {pictured && <BoxedSnapshot event={pictured} />}
      {detail.clip ? (
        <ClipDetails clip={detail.clip} />
      ) : (
        <p class="muted">
          {detail.ongoing ? "The clip is made when the incident ends." : "No clip for this incident."}
        </p>
      )}
      <p class="pin">
        {detail.pinned ? `Pinned by ${detail.pinned.by}: kept until unpinned. ` : ""}
        {canOperate() && (
          <button
            type="button"
            onClick={() =>
              void api<{ pinned: Detail["pinned"] }>(
                `/api/v1/incidents/${encodeURIComponent(detail.id)}/pin`,
                {
                  method: detail.pinned ? "DELETE" : "PUT",
                },
              ).then(({ pinned }) => setDetail({ ...detail, pinned }))
            }
          >
            {detail.pinned ? "Unpin" : "Pin (keep it and its footage)"}
          </button>
        )}
      </p>
      <EvidenceExport camera={detail.camera} incident={detail.id} />
      <p>
        <a href={`/camera/${detail.camera}`} onClick={go(`/camera/${detail.camera}`)}>
          Live view of {camera?.name ?? detail.camera}
        </a>
      </p>
      <ol class="transitions">
        {detail.transitions.map((t) => (
          <li key={t.id}>
            <time>{new Date(t.receivedAt).toLocaleTimeString()}</time> {t.action} ({t.source})
            {t.objects?.length ? ` · ${t.objects.map((o) => LABELS[o.type] ?? o.type).join(", ")}` : ""}
          </li>
        ))}
      </ol>
    </article>
  );
}
