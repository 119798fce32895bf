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
interface Deliveries {
  targets: { target: string; state: string; count: number }[];
  mqtt?: { connected: boolean; published: number };
}

export function HealthView() {
  const [hubs, setHubs] = useState<Hub[]>([]);
  const [deliveries, setDeliveries] = useState<Deliveries | undefined>(undefined);
  useEffect(() => {
    const load = () => {
      void api<{ hubs: Hub[] }>("/api/v1/relay").then(
        (r) => setHubs(r.hubs),
        () => undefined,
      );
      if (isAdmin()) void api<Deliveries>("/api/v1/deliveries").then(setDeliveries, () => undefined);
    };
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
