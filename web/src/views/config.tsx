/**
 * Config, in two tabs: "camgate" (its own settings: cameras and users, admins only) and "Camera history"
 * (the cameras' config versions, for whoever may read the backups). A tab the user may not use is not shown.
 */
import { go, route, session } from "../state.ts";
import { CameraHistory } from "./camera-history.tsx";
import { SettingsView } from "./settings.tsx";

export type ConfigTab = "camgate" | "history";

/** The tab a path asks for (`/settings` is the camgate tab's older address). */
export function configTab(path: string): ConfigTab | undefined {
  if (path === "/config/history") return "history";
  if (path === "/config/camgate" || path === "/settings") return "camgate";
  return undefined;
}

export function ConfigView() {
  const may = session.value?.may;
  const tabs: (readonly [ConfigTab, string, string])[] = [
    ...(may?.settings ? ([["camgate", "camgate", "/config/camgate"]] as const) : []),
    ...(may?.cameraHistory ? ([["history", "Camera history", "/config/history"]] as const) : []),
  ];
  const asked = configTab(route.value);
  const tab = tabs.find(([id]) => id === asked)?.[0] ?? tabs[0]?.[0];
  if (!tab) return <p>Nothing here you may use.</p>;
  return (
    <section class="config-view">
      <h1>Config</h1>
      <nav class="tabs" aria-label="Config">
        {tabs.map(([id, label, path]) => (
          <a key={id} href={path} aria-current={id === tab ? "page" : undefined} onClick={go(path)}>
            {label}
          </a>
        ))}
      </nav>
      {tab === "camgate" ? (
        <SettingsView />
      ) : (
        <>
          <h2>Camera history</h2>
          <CameraHistory admin={may?.settings === true} />
        </>
      )}
    </section>
  );
}
