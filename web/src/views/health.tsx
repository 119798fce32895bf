import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { cameras, isAdmin } from "../state.ts";
import { Badge } from "./grid.tsx";

interface Hub {
  camera: string;
  viewers: number;
  framesDropped: number;
  state: string;
  lastError?: string;
}
interface Storage {
  cameras: {
    camera: string;
    bytesPerDay: number | null;
    keptDays: number;
    projectedDays: number | null;
    summary: string;
    short: boolean;
  }[];
  diskFreeBytes?: number | null;
}
interface Deliveries {
  targets: { target: string; state: string; count: number }[];
  mqtt?: { connected: boolean; published: number };
}

export function HealthView() {
  const [hubs, setHubs] = useState<Hub[]>([]);
  const [deliveries, setDeliveries] = useState<Deliveries | undefined>(undefined);
  const [storage, setStorage] = useState<Storage | undefined>(undefined);
  useEffect(() => {
    const load = () => {
      void api<{ hubs: Hub[] }>("/api/v1/relay").then(
        (r) => setHubs(r.hubs),
        () => undefined,
      );
      if (isAdmin()) void api<Deliveries>("/api/v1/deliveries").then(setDeliveries, () => undefined);
    };
    void api<Storage>("/api/v1/storage").then(setStorage, () => undefined);
    load();
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, []);
  return (
    <section>
      <h1>Health</h1>
      <table class="health">
        <thead>
          <tr>
            <th>Camera</th>
            <th>Status</th>
            <th>Since</th>
            <th>Connections</th>
            <th>Viewers</th>
            <th>Frames dropped</th>
            <th>Last error</th>
          </tr>
        </thead>
        <tbody>
          {cameras.value.map((c) => {
            const mine = hubs.filter((h) => h.camera === c.id);
            return (
              <tr key={c.id}>
                <td data-label="Camera">{c.name}</td>
                <td data-label="Status">
                  <Badge state={c.health.state} />
                </td>
                <td data-label="Since">{new Date(c.health.since).toLocaleString()}</td>
                <td data-label="Connections">
                  {c.budget.inUse} / {c.budget.max}
                  {c.budget.queued ? ` (+${c.budget.queued} queued)` : ""}
                </td>
                <td data-label="Viewers">{mine.reduce((n, h) => n + h.viewers, 0)}</td>
                <td data-label="Frames dropped">{mine.reduce((n, h) => n + h.framesDropped, 0)}</td>
                <td data-label="Last error">
                  {c.health.reason ?? mine.find((h) => h.lastError)?.lastError ?? ""}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {storage?.cameras.some((c) => c.bytesPerDay !== null || c.keptDays > 0) && (
        <>
          <h2>Storage</h2>
          <table class="health storage" data-testid="storage">
            <thead>
              <tr>
                <th>Camera</th>
                <th>Writes a day</th>
                <th>Kept now</th>
                <th>Kept at this rate</th>
              </tr>
            </thead>
            <tbody>
              {storage.cameras.map((s) => (
                <tr key={s.camera} data-camera={s.camera} data-short={s.short || undefined}>
                  <td data-label="Camera">
                    {cameras.value.find((c) => c.id === s.camera)?.name ?? s.camera}
                  </td>
                  <td data-label="Writes a day">
                    {s.bytesPerDay === null ? "measuring" : `${(s.bytesPerDay / 1024 ** 3).toFixed(1)} GB`}
                  </td>
                  <td data-label="Kept now">{`${s.keptDays.toFixed(1)} days`}</td>
                  <td data-label="Kept at this rate" class={s.short ? "warn" : undefined}>
                    {s.summary}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {typeof storage.diskFreeBytes === "number" && (
            <p class="muted">{`${(storage.diskFreeBytes / 1024 ** 3).toFixed(1)} GB free on the recordings' disk.`}</p>
          )}
        </>
      )}
      {deliveries && (deliveries.targets.length > 0 || deliveries.mqtt) && (
        <>
          <h2>Deliveries</h2>
          <ul>
            {deliveries.targets.map((t) => (
              <li key={`${t.target}-${t.state}`}>
                {t.target}: {t.count} {t.state}
              </li>
            ))}
            {deliveries.mqtt && (
              <li>
                MQTT: {deliveries.mqtt.connected ? "connected" : "disconnected"}, {deliveries.mqtt.published}{" "}
                published
              </li>
            )}
          </ul>
        </>
      )}
      <p>
        <a href="/metrics">Prometheus metrics</a>
      </p>
    </section>
  );
}
