/** /api/v1/cameras/<id>/ptz: status and presets (viewer), moves and presets (operator). */
import type { FastifyInstance } from "fastify";
import {
  PTZ_ACTIONS,
  PTZ_DIRECTIONS,
  PTZ_LIMITS,
  parsePtzCommand,
  ZOOM_DIRECTIONS,
} from "../../camera/ptz.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { idParams, problemResponses } from "./schemas.ts";

/**
 * The body's fields; which combinations are valid is `parsePtzCommand`'s to say (one vocabulary for REST,
 * MQTT and the CLI), so an impossible one ({"action":"move","direction":"in"}) gets a message naming it.
 */
const commandSchema = {
  type: "object",
  properties: {
    action: { type: "string", enum: [...PTZ_ACTIONS] },
    direction: {
      type: "string",
      enum: [...PTZ_DIRECTIONS, ...ZOOM_DIRECTIONS],
      description:
        "move: up, down, left, right or a diagonal; zoom: in or out; stop: the axis to stop (default all)",
    },
    speed: { type: "integer", minimum: PTZ_LIMITS.speed.min, maximum: PTZ_LIMITS.speed.max },
    durationMs: {
      type: "integer",
      minimum: PTZ_LIMITS.durationMs.min,
      maximum: PTZ_LIMITS.durationMs.max,
      description: "move and zoom: stop by itself after this long",
    },
    preset: { type: "integer", minimum: PTZ_LIMITS.preset.min, maximum: PTZ_LIMITS.preset.max },
    name: { type: "string", minLength: 1, maxLength: PTZ_LIMITS.nameLength },
    channel: { type: "integer", minimum: 1 },
  },
  required: ["action"],
  additionalProperties: false,
} as const;

export function registerPtzRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<{ Params: { id: string }; Querystring: { channel?: number } }>(
    "/api/v1/cameras/:id/ptz",
    {
      schema: {
        summary: "PTZ status (position, moving) and presets",
        tags: ["ptz"],
        params: idParams,
        querystring: { type: "object", properties: { channel: { type: "integer", minimum: 1 } } },
        response: {
          200: {
            type: "object",
            properties: {
              status: {
                type: "object",
                properties: {
                  action: { type: "string" },
                  moving: { type: "boolean" },
                  position: {
                    type: "object",
                    properties: {
                      pan: { type: "number" },
                      tilt: { type: "number" },
                      zoom: { type: "number" },
                    },
                  },
                  presetId: { type: "integer" },
                },
              },
              presets: {
                type: "array",
                items: {
                  type: "object",
                  properties: { index: { type: "integer" }, name: { type: "string" } },
                },
              },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const entry = cameraFor(ctx, request, request.params.id);
      const channel = request.query.channel ?? 1;
      return { status: await entry.ptz.status(channel), presets: await entry.ptz.presets(channel) };
    },
  );

  app.post<{ Params: { id: string }; Body: unknown }>(
    "/api/v1/cameras/:id/ptz",
    {
      config: { role: "operator" },
      schema: {
        summary: "Move, stop, zoom, or use presets",
        description:
          'Examples: {"action":"move","direction":"left","speed":4,"durationMs":500}, {"action":"stop"}, {"action":"zoom","direction":"in","durationMs":300}, {"action":"stop","direction":"in"}, {"action":"gotoPreset","preset":1}, {"action":"setPreset","preset":2,"name":"door"}. A field that does not apply to the action is a 400 (invalid-ptz-command).',
        tags: ["ptz"],
        params: idParams,
        body: commandSchema,
        response: {
          200: { type: "object", properties: { ok: { type: "boolean" }, stopsAt: { type: "string" } } },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const entry = cameraFor(ctx, request, request.params.id);
      const outcome = await entry.ptz.run(parsePtzCommand(request.body));
      return outcome.stopsAt === undefined
        ? { ok: true }
        : { ok: true, stopsAt: new Date(outcome.stopsAt).toISOString() };
    },
  );
}
