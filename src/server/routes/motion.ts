/**
 * camgate's motion detection of a camera, for admins: its settings (zones and masks drawn on the picture in
 * the UI) and what it is doing now; a change is written to camgate.yaml and applied without reconnecting
 * the camera (the reload's `retuned`).
 */
import type { FastifyInstance } from "fastify";
import { updateCamera } from "../../config/config-edits.ts";
import { type CameraConfig, motionSchema } from "../../config/schema.ts";
import type { GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { problemResponses } from "./schemas.ts";

const point = {
  type: "array",
  items: { type: "number", minimum: 0, maximum: 1 },
  minItems: 2,
  maxItems: 2,
} as const;
const polygon = { type: "array", items: point, minItems: 3, maxItems: 64 } as const;

interface MotionBody {
  enabled: boolean;
  use?: "confirm" | "detect";
  zones?: { name: string; points: [number, number][] }[];
  masks?: [number, number][][];
}

/** Corners to three decimals (a thousandth of the picture: finer than anyone draws, and a short YAML line). */
function rounded(points: [number, number][]): [number, number][] {
  return points.map(([x, y]) => [Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000]);
}

export function registerMotionRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const admin = { role: "admin" } as const;
  const params = {
    type: "object",
    properties: { id: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,31}$" } },
    required: ["id"],
  } as const;
  const configured = (id: string): CameraConfig => {
    const camera = ctx.settings.current().cameras.find((c) => c.id === id);
    if (!camera) throw new ApiProblem("not-found", `no camera "${id}" in the config`);
    return camera;
  };

  app.get<{ Params: { id: string } }>(
    "/api/v1/config/cameras/:id/motion",
    {
      config: admin,
      schema: {
        summary:
          "A camera's motion detection in camgate: its settings, zones and masks, and what it does now",
        tags: ["settings"],
        params,
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const camera = configured(request.params.id);
      return {
        editable: ctx.settings.writer !== undefined,
        settings: camera.motion ?? { ...motionSchema.parse({}), enabled: false },
        status: ctx.motion.status(camera.id) ?? null,
      };
    },
  );

  app.put<{ Params: { id: string }; Body: MotionBody }>(
    "/api/v1/config/cameras/:id/motion",
    {
      config: admin,
      schema: {
        summary: "Turn a camera's motion detection on or off, and set its zones and masks",
        tags: ["settings"],
        params,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["enabled"],
          properties: {
            enabled: { type: "boolean" },
            use: { type: "string", enum: ["confirm", "detect"] },
            zones: {
              type: "array",
              maxItems: 16,
              items: {
                type: "object",
                additionalProperties: false,
                required: ["name", "points"],
                properties: {
                  name: { type: "string", pattern: "^[A-Za-z0-9 _.-]{1,40}$" },
                  points: polygon,
                },
              },
            },
            masks: { type: "array", maxItems: 16, items: polygon },
          },
        },
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const writer = ctx.settings.writer;
      if (!writer)
        throw new ApiProblem(
          "no-config-file",
          "camgate runs without a config file (the demo): start it with -c camgate.yaml to change settings here",
        );
      const { id } = request.params;
      configured(id);
      const body = request.body;
      const names = (body.zones ?? []).map((zone) => zone.name);
      if (new Set(names).size !== names.length)
        throw new ApiProblem("bad-request", "two zones have the same name");
      const next = await writer.edit((doc) =>
        updateCamera(doc, id, {
          motion: {
            enabled: body.enabled,
            ...(body.use ? { use: body.use } : {}),
            ...(body.zones
              ? { zones: body.zones.map((z) => ({ name: z.name, points: rounded(z.points) })) }
              : {}),
            ...(body.masks ? { masks: body.masks.map(rounded) } : {}),
          },
        }),
      );
      const reload = await ctx.settings.apply(next);
      request.log.info(
        { user: request.principal?.name, camera: id },
        "motion detection changed from the API",
      );
      return { settings: next.cameras.find((c) => c.id === id)?.motion ?? null, reload };
    },
  );
}
