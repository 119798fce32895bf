import { render } from "preact";
import { useEffect } from "preact/hooks";
import "./styles.css";
import { api } from "./api.ts";
import { cameras, go, loadCameras, loadSession, route, session, startEvents, stopEvents } from "./state.ts";
import { CameraView } from "./views/camera.tsx";
import { ConfigView, configTab } from "./views/config.tsx";
import { EventsView } from "./views/events.tsx";
import { GridView } from "./views/grid.tsx";
import { HealthView } from "./views/health.tsx";
import { PlaybackView } from "./views/playback.tsx";
import { SignIn } from "./views/signin.tsx";

function Nav() {
  // Nobody is shown a page they may not use: Config has camgate's settings (admins) and the camera history
  // (whoever may read the backups).
  const may = session.value?.may;
  const links = [
    ["/", "Cameras"],
    ["/events", "Events"],
    ...(may?.settings || may?.cameraHistory ? ([["/config", "Config"]] as const) : []),
    ["/health", "Health"],
  ] as const;
  const current = route.value;
  return (
    <header class="top">
      <a class="brand" href="/" onClick={go("/")}>
        camgate
      </a>
      <nav aria-label="Main">
        {links.map(([path, label]) => (
          <a
            key={path}
            href={path}
            aria-current={
              current === path ||
              (path === "/" && current.startsWith("/camera")) ||
              (path === "/config" && configTab(current) !== undefined)
                ? "page"
                : undefined
            }
            onClick={go(path)}
          >
            {label}
          </a>
        ))}
      </nav>
      <span class="who">
        {session.value?.user}
        {session.value?.via === "session" && (
          <button
            type="button"
            class="link"
            onClick={async () => {
              await api("/api/v1/session", { method: "DELETE" });
              stopEvents();
              await loadSession();
            }}
          >
            Sign out
          </button>
        )}
      </span>
    </header>
  );
}

function App() {
  useEffect(() => {
    void loadSession();
  }, []);
  const who = session.value;
  useEffect(() => {
    if (who?.authenticated) {
      void loadCameras();
      void startEvents();
      const timer = setInterval(() => void loadCameras(), 5000);
      return () => clearInterval(timer);
    }
    return undefined;
  }, [who?.authenticated, who?.user]);
  if (!who) return <p class="loading">Loading…</p>;
  if (!who.authenticated) return <SignIn />;
  const path = route.value;
  let view = <GridView />;
  if (path.startsWith("/camera/")) view = <CameraView id={decodeURIComponent(path.slice(8))} />;
  else if (path === "/events") view = <EventsView />;
  else if (path === "/config" || configTab(path) !== undefined) view = <ConfigView />;
  else if (path === "/health") view = <HealthView />;
  else if (path === "/playback") view = <PlaybackView />;
  void cameras.value;
  return (
    <>
      <Nav />
      <main>
        {who.via === "anonymous" && configTab(path) !== "camgate" && (
          <p class="notice warn" data-testid="no-users">
            camgate has no users yet: anyone on this machine can see and change everything.{" "}
            <a href="/settings" onClick={go("/settings")}>
              Create the admin
            </a>{" "}
            (or run <code>camgate init</code>).
          </p>
        )}
        {view}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app") as HTMLElement);
