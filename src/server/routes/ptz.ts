/** /api/v1/cameras/<id>/ptz: status and presets (viewer), moves and presets (operator). */
import type { FastifyInstance } from "fastify";
import type { PtzDirection } from "../../camera/api.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { problem, problemFromError, sendProblem } from "../problem.ts";
import { idParams, problemResponses } from "./schemas.ts";

const DIRECTIONS = ["up", "down", "left", "right", "leftup", "rightup", "leftdown", "rightdown"] as const;

interface PtzCommand {
  action: "move" | "stop" | "zoom" | "gotoPreset" | "setPreset" | "clearPreset";
  direction?: string;
  speed?: number;
  durationMs?: number;
  preset?: number;
  name?: string;
  channel?: number;
}

const commandSchema = {
  type: "object",
  properties: {
    action: { type: "string", enum: ["move", "stop", "zoom", "gotoPreset", "setPreset", "clearPreset"] },
    direction: { type: "string", enum: [...DIRECTIONS, "in", "out"] },
    speed: { type: "integer", minimum: 1, maximum: 8 },
    durationMs: {
      type: "integer",
      minimum: 50,
      maximum: 10_000,
      description: "stop by itself after this long",
    },
    preset: { type: "integer", minimum: 1, maximum: 255 },
    name: { type: "string", minLength: 1, maxLength: 64, pattern: "^[^&]*$" },
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
    async (request, reply) => {
      const entry = cameraFor(ctx, request, reply, request.params.id);
      if (!entry) return reply;
      try {
        const channel = request.query.channel ?? 1;
        return { status: await entry.api.ptzStatus(channel), presets: await entry.api.ptzPresets(channel) };
      } catch (error) {
        const { problem: value, retryAfterSeconds } = problemFromError(error);
        return sendProblem(reply, value, retryAfterSeconds);
      }
    },
  );

  app.post<{ Params: { id: string }; Body: PtzCommand }>(
    "/api/v1/cameras/:id/ptz",
    {
      config: { role: "operator" },
      schema: {
        summary: "Move, stop, zoom, or use presets",
        description:
          'Examples: {"action":"move","direction":"left","speed":4,"durationMs":500}, {"action":"stop"}, {"action":"zoom","direction":"in","durationMs":300}, {"action":"gotoPreset","preset":1}, {"action":"setPreset","preset":2,"name":"door"}',
        tags: ["ptz"],
        params: idParams,
        body: commandSchema,
        response: {
          200: { type: "object", properties: { ok: { type: "boolean" }, stopsAt: { type: "string" } } },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, reply, request.params.id);
      if (!entry) return reply;
      const { action, direction, speed, durationMs, preset, name, channel = 1 } = request.body;
      const api = entry.api;
      const need = (value: unknown, what: string) => {
        if (value === undefined)
          throw Object.assign(new Error(`"${action}" needs "${what}"`), { statusCode: 400 });
      };
      try {
        let stop: (() => Promise<void>) | undefined;
        switch (action) {
          case "move": {
            need(direction, "direction");
            if (!(DIRECTIONS as readonly string[]).includes(direction as string)) {
              return sendProblem(
                reply,
                problem(400, "bad-request", `move direction must be one of ${DIRECTIONS.join(", ")}`),
              );
            }
            await api.ptzMove(direction as PtzDirection, speed ?? 4, channel);
            stop = () => api.ptzStop(direction as PtzDirection, channel);
            break;
          }
          case "zoom": {
            if (direction !== "in" && direction !== "out")
              return sendProblem(reply, problem(400, "bad-request", 'zoom direction is "in" or "out"'));
            await api.ptzZoom(direction, channel);
            stop = () => api.ptzStop(direction === "in" ? "zoomin" : "zoomout", channel);
            break;
          }
          case "stop":
            await api.ptzStop((direction as PtzDirection | undefined) ?? "left", channel);
            break;
          case "gotoPreset":
            need(preset, "preset");
            await api.ptzGotoPreset(preset as number, channel);
            break;
          case "setPreset":
            need(preset, "preset");
            await api.ptzSetPreset(preset as number, name, channel);
            break;
          case "clearPreset":
            need(preset, "preset");
            await api.ptzClearPreset(preset as number, channel);
            break;
        }
        if (stop && durationMs !== undefined) {
          const timer = setTimeout(() => {
            ctx.timers.delete(timer);
            stop().catch((error: unknown) =>
              ctx.logger.warn({ camera: entry.id, err: String(error) }, "PTZ auto-stop failed"),
            );
          }, durationMs);
          ctx.timers.add(timer);
          return { ok: true, stopsAt: new Date(Date.now() + durationMs).toISOString() };
        }
        return { ok: true };
      } catch (error) {
        const { problem: value, retryAfterSeconds } = problemFromError(error);
        return sendProblem(reply, value, retryAfterSeconds);
      }
    },
  );
}
