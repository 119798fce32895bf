/**
 * camgate's own settings, from the UI (admins only): cameras added (a found one or a typed one), changed and
 * removed, users and their roles, and the LAN search. Every change goes into `camgate.yaml` through
 * `ConfigFileWriter` (comments kept, validated with the usual line-and-field messages, the previous file
 * kept) and is applied by the reload, exactly as an edit by hand and a SIGHUP would be. A camera is looked
 * at first (one login under the no-lockout rules) and not written when that fails, unless asked to.
 * Secrets are stored apart (a camera password in a file of its own, a user's password as a hash) and no
 * answer ever carries one.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { CameraFields, SecretReference } from "../../config/config-edits.ts";
import { addCamera, removeCamera, removeUser, setUser, updateCamera } from "../../config/config-edits.ts";
import type { SecretStore } from "../../config/config-file-writer.ts";
import { type CameraConfig, type Config, cameraSchema } from "../../config/schema.ts";
import { hashPassword } from "../auth/secrets.ts";
import type { GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { problemResponses } from "./schemas.ts";

const ID = "^[a-z0-9][a-z0-9_-]{0,31}$";
const USER = "^[A-Za-z0-9_.@-]{1,64}$";
const ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$";

const cameraBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: { type: "string", minLength: 1, maxLength: 100 },
    groups: {
      type: "array",
      maxItems: 16,
      items: { type: "string", minLength: 1, maxLength: 40 },
      description: "the live wall's groups (an empty list: none)",
    },
    url: { type: "string", pattern: "^https?://[^/]+/?$", description: "http(s)://host[:port]" },
    username: { type: "string", minLength: 1, maxLength: 64 },
    password: { type: "string", minLength: 1, maxLength: 256, description: "stored in a file of its own" },
    passwordEnv: {
      type: "string",
      pattern: ENV_NAME,
      description: "instead of `password`: the environment variable camgate reads it from",
    },
    passthroughPort: { type: ["integer", "null"], minimum: 1, maximum: 65535 },
    rtspPort: {
      type: ["integer", "null"],
      minimum: 1,
      maximum: 65535,
      description: "the camera's (default 554)",
    },
    probe: {
      type: "boolean",
      default: true,
      description: "log in once first; nothing is written if it fails",
    },
  },
} as const;

interface CameraBody {
  name?: string;
  groups?: string[];
  url?: string;
  username?: string;
  password?: string;
  passwordEnv?: string;
  passthroughPort?: number | null;
  rtspPort?: number | null;
  probe?: boolean;
}

interface UserBody {
  role?: "viewer" | "operator" | "admin";
  password?: string;
  cameras?: string[];
}

function writerOf(ctx: GatewayContext) {
  const writer = ctx.settings.writer;
  if (!writer)
    throw new ApiProblem(
      "no-config-file",
      "camgate runs without a config file (the demo): start it with -c camgate.yaml to change settings here",
    );
  return writer;
}

/** The camera as the config would have it, password and all (for the probe only; never answered). */
function candidate(id: string, body: CameraBody, current: CameraConfig | undefined): CameraConfig {
  const password =
    body.password ??
    (body.passwordEnv !== undefined ? process.env[body.passwordEnv] : undefined) ??
    current?.password;
  const parsed = cameraSchema.safeParse({
    ...(current ?? {}),
    id,
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.groups !== undefined ? { groups: body.groups } : {}),
    ...(body.url !== undefined ? { url: body.url } : {}),
    ...(body.username !== undefined ? { username: body.username } : {}),
    ...(body.rtspPort !== undefined
      ? { rtsp: { ...(current?.rtsp ?? {}), port: body.rtspPort ?? 554 } }
      : {}),
    password,
  });
  if (!parsed.success)
    throw new ApiProblem(
      "bad-request",
      parsed.error.issues.map((issue) => `${issue.path.join(".") || "camera"}: ${issue.message}`).join("; "),
    );
  return parsed.data;
}

async function passwordReference(
  id: string,
  body: CameraBody,
  secrets: SecretStore,
): Promise<SecretReference | undefined> {
  if (body.password !== undefined) return secrets.store(`camera-${id}-password`, body.password);
  if (body.passwordEnv !== undefined) return { env: body.passwordEnv };
  return undefined;
}

function fieldsOf(body: CameraBody, password: SecretReference | undefined): CameraFields {
  return {
    name: body.name,
    ...(body.groups !== undefined ? { groups: body.groups } : {}),
    ...(body.url !== undefined ? { url: body.url } : {}),
    ...(body.username !== undefined ? { username: body.username } : {}),
    ...(password ? { password } : {}),
    ...(body.passthroughPort !== undefined ? { passthroughPort: body.passthroughPort } : {}),
    ...(body.rtspPort !== undefined ? { rtspPort: body.rtspPort } : {}),
  };
}

/** What may be shown of a camera's settings: never its password. */
function shownCamera(camera: CameraConfig) {
  return {
    id: camera.id,
    name: camera.name ?? null,
    groups: camera.groups ?? [],
    url: camera.url,
    username: camera.username,
    protocol: camera.protocol,
    passthroughPort: camera.passthroughPort ?? null,
    rtspPort: camera.rtsp.port,
  };
}

function shownUser(user: Config["users"][number]) {
  return {
    name: user.name,
    role: user.role,
    cameras: user.cameras,
    signsInWith: [
      ...(user.password !== undefined ? ["password"] : []),
      ...(user.token !== undefined ? ["token"] : []),
      ...(user.clientCertSubject !== undefined ? ["certificate"] : []),
    ],
  };
}

export function registerSettingsRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const admin = { role: "admin" } as const;
  const current = () => ctx.settings.current();

  /** Looks at the camera (unless told not to); a failure is a problem with the probe's own words. */
  const probeFirst = async (id: string, body: CameraBody, existing: CameraConfig | undefined) => {
    if (body.probe === false) return undefined;
    const probe = await ctx.settings.probe(candidate(id, body, existing));
    if (!probe.ok)
      throw new ApiProblem("camera-probe-failed", `${probe.code}: ${probe.summary}`, { camera: id });
    return probe;
  };

  const written = async (next: Config, request: FastifyRequest, what: string) => {
    const summary = await ctx.settings.apply(next);
    request.log.info({ user: request.principal?.name, change: what }, "settings changed from the API");
    return summary;
  };

  app.get(
    "/api/v1/config/cameras",
    {
      config: admin,
      schema: {
        summary: "The cameras in camgate's config (never their passwords)",
        tags: ["settings"],
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async () => ({
      editable: ctx.settings.writer !== undefined,
      cameras: current().cameras.map(shownCamera),
    }),
  );

  app.post<{ Body: CameraBody & { id: string } }>(
    "/api/v1/config/cameras",
    {
      config: admin,
      schema: {
        summary: "Add a camera: looked at first, then written to camgate.yaml and started",
        tags: ["settings"],
        body: {
          ...cameraBody,
          properties: { ...cameraBody.properties, id: { type: "string", pattern: ID } },
          required: ["id", "url", "username"],
        },
        response: { 201: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const writer = writerOf(ctx);
      const body = request.body;
      if (body.password === undefined && body.passwordEnv === undefined)
        throw new ApiProblem("bad-request", "a camera needs `password` (or `passwordEnv`)");
      if (current().cameras.some((c) => c.id === body.id))
        throw new ApiProblem("conflict", `a camera "${body.id}" exists already`);
      const probe = await probeFirst(body.id, body, undefined);
      const next = await writer.edit(async (doc, secrets) =>
        addCamera(doc, body.id, fieldsOf(body, await passwordReference(body.id, body, secrets))),
      );
      const reload = await written(next, request, `camera ${body.id} added`);
      const camera = next.cameras.find((c) => c.id === body.id) as CameraConfig;
      return reply.code(201).send({ camera: shownCamera(camera), probe: probe ?? null, reload });
    },
  );

  app.patch<{ Params: { id: string }; Body: CameraBody }>(
    "/api/v1/config/cameras/:id",
    {
      config: admin,
      schema: {
        summary: "Change a camera's settings (a new address or credentials are looked at first)",
        tags: ["settings"],
        params: { type: "object", properties: { id: { type: "string", pattern: ID } }, required: ["id"] },
        body: cameraBody,
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const writer = writerOf(ctx);
      const { id } = request.params;
      const body = request.body;
      const existing = current().cameras.find((c) => c.id === id);
      if (!existing) throw new ApiProblem("not-found", `no camera "${id}" in the config`);
      const reachesCamera =
        body.url !== undefined ||
        body.rtspPort !== undefined ||
        body.username !== undefined ||
        body.password !== undefined ||
        body.passwordEnv !== undefined;
      const probe = reachesCamera ? await probeFirst(id, body, existing) : undefined;
      const next = await writer.edit(async (doc, secrets) =>
        updateCamera(doc, id, fieldsOf(body, await passwordReference(id, body, secrets))),
      );
      const reload = await written(next, request, `camera ${id} changed`);
      const camera = next.cameras.find((c) => c.id === id) as CameraConfig;
      return { camera: shownCamera(camera), probe: probe ?? null, reload };
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/api/v1/config/cameras/:id",
    {
      config: admin,
      schema: {
        summary: "Remove a camera from camgate (its recordings stay until retention removes them)",
        tags: ["settings"],
        params: { type: "object", properties: { id: { type: "string", pattern: ID } }, required: ["id"] },
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const writer = writerOf(ctx);
      const next = await writer.edit((doc) => removeCamera(doc, request.params.id));
      return { reload: await written(next, request, `camera ${request.params.id} removed`) };
    },
  );

  app.get(
    "/api/v1/config/users",
    {
      config: admin,
      schema: {
        summary: "camgate's users, their roles and cameras (never a password, token or hash)",
        tags: ["settings"],
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async () => ({ editable: ctx.settings.writer !== undefined, users: current().users.map(shownUser) }),
  );

  app.put<{ Params: { name: string }; Body: UserBody }>(
    "/api/v1/config/users/:name",
    {
      config: admin,
      schema: {
        summary: "Add a user, or change one's role, cameras or password (stored as a hash)",
        tags: ["settings"],
        params: {
          type: "object",
          properties: { name: { type: "string", pattern: USER } },
          required: ["name"],
        },
        body: {
          type: "object",
          additionalProperties: false,
          properties: {
            role: { type: "string", enum: ["viewer", "operator", "admin"] },
            password: { type: "string", minLength: 8, maxLength: 256 },
            cameras: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1, maxItems: 256 },
          },
        },
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const writer = writerOf(ctx);
      const { name } = request.params;
      const body = request.body;
      const exists = current().users.some((user) => user.name === name);
      if (!exists && (body.role === undefined || body.password === undefined))
        throw new ApiProblem(
          "bad-request",
          "a new user needs a `role` and a `password` (8 characters or more)",
        );
      // Without users camgate is open (on loopback): the first user closes it, and must be able to open Settings.
      if (current().users.length === 0 && body.role !== "admin")
        throw new ApiProblem("bad-request", "the first user must be an admin (camgate has no users yet)");
      const unknown = (body.cameras ?? []).filter(
        (c) => c !== "*" && !current().cameras.some((k) => k.id === c),
      );
      if (unknown.length > 0)
        throw new ApiProblem("bad-request", `no camera ${unknown.join(", ")} in the config`);
      let outcome: "added" | "changed" = "changed";
      const next = await writer.edit((doc) => {
        outcome = setUser(doc, name, {
          ...(body.role ? { role: body.role } : {}),
          ...(body.password !== undefined ? { password: { hash: hashPassword(body.password) } } : {}),
          ...(body.cameras ? { cameras: body.cameras } : {}),
        });
      });
      const reload = await written(next, request, `user ${name} ${outcome}`);
      const user = next.users.find((u) => u.name === name) as Config["users"][number];
      return { user: shownUser(user), outcome, reload };
    },
  );

  app.delete<{ Params: { name: string } }>(
    "/api/v1/config/users/:name",
    {
      config: admin,
      schema: {
        summary: "Remove a user (their sessions and streams end with the reload)",
        tags: ["settings"],
        params: {
          type: "object",
          properties: { name: { type: "string", pattern: USER } },
          required: ["name"],
        },
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const writer = writerOf(ctx);
      if (request.principal?.name === request.params.name)
        throw new ApiProblem("conflict", "you cannot remove yourself; another admin can");
      const next = await writer.edit((doc) => removeUser(doc, request.params.name));
      return { reload: await written(next, request, `user ${request.params.name} removed`) };
    },
  );

  app.get(
    "/api/v1/discovery",
    {
      config: admin,
      schema: {
        summary: "Search this host's networks for cameras (DHDiscover, WS-Discovery; no login), about 3 s",
        tags: ["settings"],
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async () => ctx.settings.discover(),
  );
}
