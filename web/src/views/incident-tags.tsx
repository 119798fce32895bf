/**
 * What an incident was, in words an owner reads: its kinds (a person, a vehicle, motion camgate confirmed),
 * the zones it named, and for a camera's motion whether camgate's own detection saw it. Shared by the Events
 * page, the camera page's list and the incident view; `KindOptions` are the filters' choices.
 */
import type { Incident } from "../api.ts";

export const KIND_WORDS: Record<string, string> = {
  person: "Person",
  vehicle: "Vehicle",
  doorbell: "Doorbell",
  "confirmed-motion": "Motion camgate saw",
  motion: "Camera's motion",
  tamper: "Camera covered",
  offline: "Camera offline",
  security: "Security finding",
};

/** The filters' choices of kind, after an option for "any" (`anyWords`). */
export function KindOptions({ anyWords }: { anyWords: string }) {
  return (
    <>
      <option value="">{anyWords}</option>
      {Object.entries(KIND_WORDS).map(([kind, words]) => (
        <option key={kind} value={kind}>
          {words}
        </option>
      ))}
    </>
  );
}

export function IncidentTags({ incident }: { incident: Pick<Incident, "kinds" | "zones" | "confirmed"> }) {
  // "Camera's motion" says nothing more once camgate's own word is there.
  const kinds = incident.kinds.filter(
    (kind) => !(kind === "motion" && incident.kinds.includes("confirmed-motion")),
  );
  return (
    <span class="incident-tags">
      {kinds.map((kind) => (
        <span key={kind} class={`tag tag-kind-${kind}`} data-kind={kind}>
          {KIND_WORDS[kind] ?? kind}
        </span>
      ))}
      {incident.zones.map((zone) => (
        <span key={zone} class="tag tag-zone" data-zone={zone}>
          {zone}
        </span>
      ))}
      {incident.confirmed === false && (
        <span
          class="tag tag-unconfirmed"
          data-confirmed="false"
          title="camgate's motion detection saw nothing move"
        >
          not confirmed
        </span>
      )}
    </span>
  );
}
