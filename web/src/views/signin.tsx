import { useState } from "preact/hooks";
import { ApiError, api } from "../api.ts";
import { loadSession, navigate } from "../state.ts";

export function SignIn() {
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <main class="signin">
      <h1>camgate</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const form = new FormData(e.currentTarget as HTMLFormElement);
          setBusy(true);
          setError(undefined);
          try {
            await api("/api/v1/session", {
              method: "POST",
              body: { username: form.get("username"), password: form.get("password") },
            });
            navigate("/");
            await loadSession();
          } catch (err) {
            setError(
              err instanceof ApiError && err.status === 429
                ? "Too many failed sign-ins; wait a minute."
                : "Wrong user name or password.",
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          User name
          <input name="username" autocomplete="username" required />
        </label>
        <label>
          Password or token
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
