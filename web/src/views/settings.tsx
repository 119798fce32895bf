/**
 * camgate's own settings (admins): the cameras (found on the network or typed, looked at with one login
 * before they are written; changed; removed) and the users (roles, cameras, passwords). Every change is
 * written into camgate.yaml by the server (comments kept, the previous file kept) and applied at once; a
 * password typed here is never shown again.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { cameras, loadCameras, loadSession } from "../state.ts";
import { MotionZones } from "./motion-zones.tsx";

interface ConfiguredCamera {
  id: string;
  name: string | null;
  url: string;
  username: string;
  rtspPort: number;
  passthroughPort: number | null;
  groups: string[];
}

interface User {
  name: string;
  role: "viewer" | "operator" | "admin";
  cameras: string[];
  signsInWith: string[];
}

interface Found {
  address: string;
  httpPort?: number;
  serial?: string;
  model?: string;
  vendor?: string;
  firmware?: string;
  name?: string;
  mac?: string;
  onvif?: string;
  known?: string;
}

interface CameraForm {
  id: string;
  name: string;
  url: string;
  username: string;
  password: string;
  rtspPort: string;
  /** The live wall's groups, comma-separated. */
  groups: string;
}

const groupList = (text: string) => [
  ...new Set(
    text
      .split(",")
      .map((g) => g.trim())
      .filter(Boolean),
  ),
];

const EMPTY_FORM: CameraForm = {
  id: "",
  name: "",
  url: "",
  username: "admin",
  password: "",
  rtspPort: "554",
  groups: "",
};

/** A camera id from a name: lower case, digits, _ and - (what the config accepts). */
export function idFrom(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 32) || "camera"
  );
}

function useAction(): [
  boolean,
  string | undefined,
  (work: () => Promise<void>) => void,
  (m?: string) => void,
] {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    work()
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => setBusy(false));
  };
  return [busy, error, run, setError];
}

function CamerasSection() {
  const [list, setList] = useState<{ editable: boolean; cameras: ConfiguredCamera[] } | undefined>(undefined);
  const [found, setFound] = useState<Found[] | undefined>(undefined);
  const [form, setForm] = useState<CameraForm | undefined>(undefined);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [motionOf, setMotionOf] = useState<string | undefined>(undefined);
  const [busy, error, run] = useAction();
  const load = () =>
    run(async () =>
      setList(await api<{ editable: boolean; cameras: ConfiguredCamera[] }>("/api/v1/config/cameras")),
    );
  useEffect(load, []);
  const search = () =>
    run(async () => setFound((await api<{ cameras: Found[] }>("/api/v1/discovery")).cameras));
  const save = (event: Event) => {
    event.preventDefault();
    if (!form) return;
    // An edit sends only what changed: a new name or groups reach no camera; a new address or
    // credentials are checked with one login first.
    const before = list?.cameras.find((c) => c.id === editing);
    const rtspPort = Number(form.rtspPort) || 554;
    run(async () => {
      const body = {
        name: form.name || undefined,
        ...(form.url !== before?.url ? { url: form.url } : {}),
        ...(form.username !== before?.username ? { username: form.username } : {}),
        ...(form.password ? { password: form.password } : {}),
        ...(rtspPort !== before?.rtspPort ? { rtspPort } : {}),
        groups: groupList(form.groups),
      };
      const answer = await api<{ probe: { summary: string } | null }>(
        editing ? `/api/v1/config/cameras/${encodeURIComponent(editing)}` : "/api/v1/config/cameras",
        { method: editing ? "PATCH" : "POST", body: editing ? body : { id: form.id, ...body } },
      );
      setNotice(
        `${editing ? "Changed" : "Added"} ${editing ?? form.id}${answer.probe ? `: ${answer.probe.summary}` : ""}`,
      );
      setForm(undefined);
      setEditing(undefined);
      load();
      void loadCameras();
    });
  };
  const remove = (id: string) => {
    if (!confirm(`Remove camera ${id} from camgate? Its recordings stay until retention removes them.`))
      return;
    run(async () => {
      await api(`/api/v1/config/cameras/${encodeURIComponent(id)}`, { method: "DELETE" });
      setNotice(`Removed ${id}`);
      load();
      void loadCameras();
    });
  };
  const field = (key: keyof CameraForm) => ({
    value: form?.[key] ?? "",
    onInput: (e: Event) => setForm({ ...(form ?? EMPTY_FORM), [key]: (e.target as HTMLInputElement).value }),
  });
  return (
    <section class="settings-cameras" aria-labelledby="settings-cameras">
      <h2 id="settings-cameras">Cameras</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && <p class="notice done">{notice}</p>}
      {list && !list.editable && (
        <p class="muted">
          camgate runs without a config file (the demo). For your own cameras run{" "}
          <code>npx camgate init</code> (it finds them on your network and writes camgate.yaml), then{" "}
          <code>npx camgate serve</code>: cameras and users are added and changed here from then on.
        </p>
      )}
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th>Camera</th>
              <th>Address</th>
              <th>User</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list?.cameras.map((camera) => (
              <tr key={camera.id} data-camera={camera.id}>
                <td>
                  {camera.name ?? camera.id} <small class="muted">{camera.id}</small>
                </td>
                <td class="address">{camera.url}</td>
                <td>{camera.username}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    disabled={busy || !list.editable}
                    onClick={() => {
                      setEditing(camera.id);
                      setForm({
                        id: camera.id,
                        name: camera.name ?? "",
                        url: camera.url,
                        username: camera.username,
                        password: "",
                        rtspPort: String(camera.rtspPort),
                        groups: camera.groups.join(", "),
                      });
                    }}
                  >
                    Edit
                  </button>{" "}
                  <button type="button" onClick={() => setMotionOf(camera.id)}>
                    Motion…
                  </button>{" "}
                  <button type="button" disabled={busy || !list.editable} onClick={() => remove(camera.id)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {motionOf && <MotionZones key={motionOf} camera={motionOf} onClose={() => setMotionOf(undefined)} />}
      <div class="actions">
        <button
          type="button"
          disabled={busy || !list?.editable}
          onClick={() => {
            setEditing(undefined);
            setForm({ ...EMPTY_FORM });
          }}
        >
          Add a camera
        </button>{" "}
        <button type="button" disabled={busy} onClick={search}>
          Find cameras on the network
        </button>
      </div>
      {found && (
        <div class="found" data-testid="found">
          {found.length === 0 && <p class="muted">No camera answered (Dahua's discovery and ONVIF's).</p>}
          <ul>
            {found.map((camera) => {
              const port = camera.httpPort && camera.httpPort !== 80 ? `:${camera.httpPort}` : "";
              const url = `http://${camera.address}${port}`;
              return (
                <li key={`${camera.address}${port}`}>
                  <strong>{[camera.vendor, camera.model].filter(Boolean).join(" ") || "A camera"}</strong> at{" "}
                  {url}
                  {camera.firmware && <span class="muted"> · firmware {camera.firmware}</span>}
                  {camera.known ? (
                    <span class="muted"> · camgate has it as {camera.known}</span>
                  ) : (
                    <button
                      type="button"
                      disabled={busy || !list?.editable}
                      onClick={() => {
                        setEditing(undefined);
                        setForm({
                          ...EMPTY_FORM,
                          id: idFrom(camera.name ?? camera.model ?? camera.address),
                          name: camera.name ?? "",
                          url,
                        });
                      }}
                    >
                      Add
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        </div>
      )}
      {form && (
        <form class="settings-form" onSubmit={save} aria-label={editing ? `Edit ${editing}` : "Add a camera"}>
          {!editing && (
            <label>
              Id <input required pattern="[a-z0-9][a-z0-9_\-]{0,31}" {...field("id")} />
            </label>
          )}
          <label>
            Name <input {...field("name")} />
          </label>
          <label>
            Groups on the wall <input placeholder="Outside, Garage" {...field("groups")} />
          </label>
          <label>
            Address <input required placeholder="http://192.168.1.20" {...field("url")} />
          </label>
          <label>
            Camera user <input required autoComplete="off" {...field("username")} />
          </label>
          <label>
            Camera password{" "}
            <input
              type="password"
              autoComplete="new-password"
              required={!editing}
              placeholder={editing ? "unchanged" : ""}
              {...field("password")}
            />
          </label>
          <label>
            RTSP port <input inputMode="numeric" {...field("rtspPort")} />
          </label>
          <p class="muted">
            camgate logs in once to check (never more, so a wrong password cannot lock the camera); the
            password is kept in a file of its own beside camgate.yaml.
          </p>
          <button type="submit" disabled={busy}>
            {editing ? "Save" : "Check and add"}
          </button>{" "}
          <button type="button" disabled={busy} onClick={() => setForm(undefined)}>
            Cancel
          </button>
        </form>
      )}
    </section>
  );
}

function UsersSection() {
  const [list, setList] = useState<{ editable: boolean; users: User[] } | undefined>(undefined);
  // The form adds a user, or edits one (`existing`): role, cameras, and a new password only when typed.
  const [adding, setAdding] = useState<
    { name: string; role: User["role"]; password: string; cameras?: string[]; existing?: boolean } | undefined
  >(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [busy, error, run] = useAction();
  const load = () =>
    run(async () => setList(await api<{ editable: boolean; users: User[] }>("/api/v1/config/users")));
  useEffect(load, []);
  const firstUser = list?.editable === true && list.users.length === 0;
  const put = (name: string, body: Record<string, unknown>, done: string) =>
    run(async () => {
      await api(`/api/v1/config/users/${encodeURIComponent(name)}`, { method: "PUT", body });
      // The first user closes camgate: from now on everyone signs in, this admin first.
      if (firstUser) return void (await loadSession());
      setNotice(done);
      setAdding(undefined);
      load();
    });
  useEffect(() => {
    if (firstUser) setAdding({ name: "admin", role: "admin", password: "" });
  }, [firstUser]);
  return (
    <section class="settings-users" aria-labelledby="settings-users">
      <h2 id="settings-users">Users</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {notice && <p class="notice done">{notice}</p>}
      {firstUser && (
        <p class="notice warn">
          camgate has no users yet, so anyone on this machine can see and change everything. Create the admin:
          after that everyone signs in, you first.
        </p>
      )}
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th>User</th>
              <th>Role</th>
              <th>Cameras</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list?.users.map((user) => (
              <tr key={user.name} data-user={user.name}>
                <td>
                  {user.name} <small class="muted">{user.signsInWith.join(", ")}</small>
                </td>
                <td>
                  <select
                    aria-label={`Role of ${user.name}`}
                    value={user.role}
                    disabled={busy || !list.editable}
                    onChange={(e) =>
                      put(
                        user.name,
                        { role: (e.target as HTMLSelectElement).value },
                        `${user.name}'s role changed`,
                      )
                    }
                  >
                    <option value="viewer">viewer</option>
                    <option value="operator">operator</option>
                    <option value="admin">admin</option>
                  </select>
                </td>
                <td>{user.cameras.join(", ") === "*" ? "all" : user.cameras.join(", ")}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    disabled={busy || !list.editable}
                    onClick={() =>
                      setAdding({
                        name: user.name,
                        role: user.role,
                        password: "",
                        existing: true,
                        ...(user.cameras.includes("*") ? {} : { cameras: user.cameras }),
                      })
                    }
                  >
                    Edit
                  </button>{" "}
                  <button
                    type="button"
                    disabled={busy || !list.editable}
                    onClick={() => {
                      if (!confirm(`Remove ${user.name}? Their sessions end at once.`)) return;
                      run(async () => {
                        await api(`/api/v1/config/users/${encodeURIComponent(user.name)}`, {
                          method: "DELETE",
                        });
                        setNotice(`Removed ${user.name}`);
                        load();
                      });
                    }}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="actions">
        <button
          type="button"
          disabled={busy || !list?.editable}
          onClick={() => setAdding({ name: "", role: "viewer", password: "" })}
        >
          Add a user
        </button>
      </div>
      {adding && (
        <form
          class="settings-form"
          aria-label={firstUser ? "Create the admin" : adding.existing ? `Edit ${adding.name}` : "Add a user"}
          onSubmit={(e) => {
            e.preventDefault();
            if (adding.cameras?.length === 0)
              return run(async () => {
                throw new Error("Choose the user's cameras, or All");
              });
            put(
              adding.name,
              {
                role: adding.role,
                ...(adding.password ? { password: adding.password } : {}),
                // An edit back to All says so; an add leaves the default (all).
                ...(adding.cameras && adding.cameras.length > 0
                  ? { cameras: adding.cameras }
                  : adding.existing
                    ? { cameras: ["*"] }
                    : {}),
              },
              adding.existing ? `${adding.name} changed` : `Added ${adding.name}`,
            );
          }}
        >
          <label>
            Name{" "}
            <input
              required
              readOnly={adding.existing}
              pattern="[A-Za-z0-9_.@\-]{1,64}"
              value={adding.name}
              onInput={(e) => setAdding({ ...adding, name: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            Role{" "}
            <select
              value={adding.role}
              disabled={firstUser}
              onChange={(e) =>
                setAdding({ ...adding, role: (e.target as HTMLSelectElement).value as User["role"] })
              }
            >
              <option value="viewer">viewer</option>
              <option value="operator">operator</option>
              <option value="admin">admin</option>
            </select>
          </label>
          <label>
            {adding.existing ? "New password (empty: unchanged)" : "Password"}{" "}
            <input
              type="password"
              required={!adding.existing}
              minLength={8}
              autoComplete="new-password"
              value={adding.password}
              onInput={(e) => setAdding({ ...adding, password: (e.target as HTMLInputElement).value })}
            />
          </label>
          {!firstUser && (
            <fieldset class="user-cameras">
              <legend>Cameras</legend>
              <label>
                <input
                  type="checkbox"
                  checked={adding.cameras === undefined}
                  onChange={(e) =>
                    setAdding({ ...adding, cameras: (e.target as HTMLInputElement).checked ? undefined : [] })
                  }
                />{" "}
                All, and those added later
              </label>
              {adding.cameras !== undefined &&
                cameras.value.map((camera) => (
                  <label key={camera.id}>
                    <input
                      type="checkbox"
                      checked={adding.cameras?.includes(camera.id) ?? false}
                      onChange={(e) => {
                        const chosen = new Set(adding.cameras);
                        if ((e.target as HTMLInputElement).checked) chosen.add(camera.id);
                        else chosen.delete(camera.id);
                        setAdding({ ...adding, cameras: [...chosen] });
                      }}
                    />{" "}
                    {camera.name}
                  </label>
                ))}
            </fieldset>
          )}
          <button type="submit" disabled={busy}>
            {firstUser ? "Create the admin" : adding.existing ? "Save" : "Add"}
          </button>{" "}
          {!firstUser && (
            <button type="button" disabled={busy} onClick={() => setAdding(undefined)}>
              Cancel
            </button>
          )}
        </form>
      )}
    </section>
  );
}

export function SettingsView() {
  return (
    <div class="settings-view">
      <CamerasSection />
      <UsersSection />
    </div>
  );
}
